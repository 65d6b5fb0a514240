"""A background thread that keeps the container list fresh, so no request waits on Docker."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from .sources.docker import ContainerInfo, DockerReader, EngineUnreachable

logger = logging.getLogger(__name__)

REFRESH_INTERVAL_S = 5.0


@dataclass(frozen=True)
class ContainersState:
    """The newest container list, or why there is none."""

    containers: tuple[ContainerInfo, ...] = ()
    error: str | None = None
    refreshed_at: datetime | None = None
    seq: int = 0
    last_ok_at: datetime | None = None


class ContainerCache:
    """Refreshes the container list and its stats at its own pace."""

    def __init__(self, reader: DockerReader, interval_s: float = REFRESH_INTERVAL_S) -> None:
        self._reader = reader
        self.interval_s = interval_s
        self._state = ContainersState()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> ContainersState:
        """Return the newest state without waiting for Docker."""
        return self._state

    def start(self) -> None:
        """Start the refresh thread."""
        self._thread = threading.Thread(target=self._run, name="container-cache", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the refresh thread and close the Docker client."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._reader.close()

    def refresh_soon(self) -> None:
        """Ask for a refresh now instead of at the next interval."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - the cache must outlive any unexpected error
                logger.exception("Refreshing the container list failed")
            self._wake.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
            self._wake.clear()

    def refresh(self) -> None:
        """List the containers with their stats and publish the result."""
        now = datetime.now(timezone.utc)
        try:
            containers = self._reader.list_containers()
        except EngineUnreachable as error:
            self._publish_error(str(error), now)
            return
        if self._state.error:
            logger.info("Docker is reachable again")
        self._reader.forget_missing({c.id for c in containers})
        self._publish(self._reader.add_stats(containers), now)

    def _publish(self, containers: list[ContainerInfo], now: datetime) -> None:
        self._state = ContainersState(
            containers=tuple(containers), refreshed_at=now, seq=self._state.seq + 1, last_ok_at=now
        )

    def _publish_error(self, message: str, now: datetime) -> None:
        previous = self._state
        if previous.error != message:
            logger.error("%s", message)
        self._state = ContainersState(
            containers=(), error=message, refreshed_at=now, seq=previous.seq + 1, last_ok_at=previous.last_ok_at
        )
