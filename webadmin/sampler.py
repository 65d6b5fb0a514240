"""The sampler thread: reads the telemetry source once per interval into a snapshot.

Every page, fragment and API call reads the newest snapshot or the short
history kept here, so many phones polling cost no more reads than one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .sources import Sample, SourceReadError, SourceUnavailable, TelemetrySource
from .telemetry import Reading, Snapshot

logger = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 1.0
HISTORY_S = 10 * 60
RETRY_PREFERRED_S = 60.0
# Opening jtop starts helper processes, so a chain where nothing works is
# tried again at this pace rather than every interval.
RETRY_OPEN_S = 10.0

SourceFactory = Callable[[], TelemetrySource]
ExtrasReader = Callable[[], dict[str, Any]]


class Sampler:
    """Reads the first working source of a chain, falling back down the chain on failure.

    ``chain`` lists (name, factory) pairs in order of preference. With a
    chain of one, that source is retried instead of replaced.
    """

    def __init__(
        self,
        chain: Sequence[tuple[str, SourceFactory]],
        interval_s: float = SAMPLE_INTERVAL_S,
        history_s: float = HISTORY_S,
        extras: ExtrasReader | None = None,
    ) -> None:
        self._chain = list(chain)
        self.interval_s = interval_s
        self._extras = extras
        self._history: deque[Snapshot] = deque(maxlen=max(1, int(history_s / interval_s)))
        self._latest: Snapshot | None = None
        self._source: TelemetrySource | None = None
        self._position = 0
        self._notices: dict[str, str] = {}
        self._seq = 0
        self._last_preferred_try = 0.0
        self._next_open_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def latest(self) -> Snapshot | None:
        """Return the newest snapshot, or None before the first reading."""
        return self._latest

    def notices(self) -> tuple[str, ...]:
        """Return why preferred sources are not in use, such as jtop's own message."""
        return tuple(self._notices.values())

    def history(self) -> list[Snapshot]:
        """Return the snapshots of the last minutes, oldest first."""
        return list(self._history)

    def start(self) -> None:
        """Start the sampler thread."""
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and release the source."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close_source()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the sampler must outlive any bug in a source
                logger.exception("Sampling telemetry failed")
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def tick(self) -> None:
        """Take one sample and publish it."""
        self._maybe_retry_preferred()
        source = self._source or self._open_when_due()
        if source is None:
            return
        try:
            sample = source.read()
        except SourceReadError as error:
            self._publish_degraded(source.name, str(error))
            return
        except SourceUnavailable as error:
            self._fail_over(source.name, str(error))
            return
        self._notices.pop(source.name, None)
        self._publish(source.name, sample)

    def _open_when_due(self) -> TelemetrySource | None:
        now = time.monotonic()
        if now < self._next_open_at:
            return None
        source = self._open_from(self._position)
        if source is None:
            self._next_open_at = now + RETRY_OPEN_S
        return source

    def _open_from(self, position: int) -> TelemetrySource | None:
        found = self._open_first(range(position, len(self._chain)))
        if found is None:
            return None
        index, source = found
        logger.info("Reading telemetry from %s", source.name)
        self._switch_to(index, source)
        return source

    def _maybe_retry_preferred(self) -> None:
        # After a fallback, try the better sources again now and then: jtop may
        # have been installed or restarted since.
        if self._source is None or self._position == 0:
            return
        if time.monotonic() - self._last_preferred_try < RETRY_PREFERRED_S:
            return
        current = self._source
        found = self._open_first(range(self._position))
        self._last_preferred_try = time.monotonic()
        if found is None:
            return
        index, source = found
        logger.info("Telemetry source %s is available again; switching from %s", source.name, current.name)
        current.close()
        self._switch_to(index, source)

    def _open_first(self, indexes: range) -> tuple[int, TelemetrySource] | None:
        for index in indexes:
            name, factory = self._chain[index]
            source = factory()
            try:
                source.open()
            except SourceUnavailable as error:
                self._note_unavailable(name, str(error))
                continue
            self._notices.pop(name, None)
            return index, source
        return None

    def _switch_to(self, index: int, source: TelemetrySource) -> None:
        self._source, self._position = source, index
        # Count the pause before retrying better sources from this switch.
        self._last_preferred_try = time.monotonic()

    def _fail_over(self, name: str, message: str) -> None:
        self._note_unavailable(name, message)
        self._close_source()
        if len(self._chain) > 1 and self._position + 1 < len(self._chain):
            self._open_from(self._position + 1)

    def _note_unavailable(self, name: str, message: str) -> None:
        # In auto mode a missing jtop or tegrastats is normal off a Jetson, so
        # only the last source of the chain failing is an error.
        names = [n for n, _ in self._chain]
        is_last = names.index(name) == len(names) - 1 if name in names else True
        if self._notices.get(name) != message:
            level = logging.ERROR if is_last else logging.INFO
            logger.log(level, "Telemetry source %s is unavailable: %s", name, message)
        self._notices[name] = message
        if self._latest is not None and self._latest.source == name:
            self._publish_degraded(name, message)

    def _close_source(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()

    def _publish(self, name: str, sample: Sample) -> None:
        reading = self._with_extras(sample.reading)
        self._seq += 1
        snapshot = Snapshot(
            source=name,
            sampled_at=sample.sampled_at,
            reading=reading,
            seq=self._seq,
            interval_s=self.interval_s,
            notices=tuple(self._notices.values()),
        )
        self._latest = snapshot
        self._history.append(snapshot)

    def _publish_degraded(self, name: str, message: str) -> None:
        previous = self._latest
        if previous is None:
            self._notices[name] = message
            return
        self._seq += 1
        notices = tuple(dict(self._notices, **{name: message}).values())
        self._latest = replace(previous, seq=self._seq, degraded=True, notices=notices)

    def _with_extras(self, reading: Reading) -> Reading:
        if self._extras is None or (reading.disk is not None and reading.uptime_s is not None):
            return reading
        try:
            extras = self._extras()
        except OSError as error:
            logger.debug("Reading host extras failed: %s", error)
            return reading
        missing = {key: value for key, value in extras.items() if getattr(reading, key) is None}
        return replace(reading, **missing)
