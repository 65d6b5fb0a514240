"""The sampler: fallback down the source chain, degraded snapshots and history."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from conftest import SAMPLE_READING, StaticSource

from webadmin.sampler import Sampler
from webadmin.sources import Sample, SourceReadError, SourceUnavailable
from webadmin.telemetry import DiskReading, Reading


class FailingSource:
    """A source that cannot open, with a fixed message."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message
        self.opened = 0

    def open(self) -> None:
        self.opened += 1
        raise SourceUnavailable(self.message)

    def read(self) -> Sample:
        raise AssertionError("never opened")

    def close(self) -> None:
        pass


class FlakySource(StaticSource):
    """A source whose reads fail in the ways a script sets."""

    def __init__(self) -> None:
        super().__init__("tegrastats")
        self.failures: list[Exception] = []
        self.closed = False

    def read(self) -> Sample:
        if self.failures:
            raise self.failures.pop(0)
        return super().read()

    def close(self) -> None:
        self.closed = True


def test_auto_falls_back_with_notice() -> None:
    jtop = FailingSource("jtop", "jtop: The jtop.service is not active. Please run: sudo jtop --install-service")
    host = StaticSource("host")
    sampler = Sampler([("jtop", lambda: jtop), ("host", lambda: host)])

    sampler.tick()
    snapshot = sampler.latest

    assert snapshot is not None
    assert snapshot.source == "host"
    assert snapshot.notices == (jtop.message,)


def test_single_source_retried_not_replaced() -> None:
    jtop = FailingSource("jtop", "jtop: Mismatch version jtop service: [4.2.0] and client: [4.3.1].")
    sampler = Sampler([("jtop", lambda: jtop)])

    sampler.tick()
    sampler.tick()
    sampler._next_open_at = 0.0
    sampler.tick()

    assert sampler.latest is None
    assert jtop.opened == 2
    assert sampler.notices() == (jtop.message,)


def test_read_error_keeps_last_reading_stale() -> None:
    source = FlakySource()
    sampler = Sampler([("tegrastats", lambda: source)])
    sampler.tick()
    good = sampler.latest
    source.failures.append(SourceReadError("tegrastats printed a line that could not be read: junk"))

    sampler.tick()
    degraded = sampler.latest

    assert good is not None
    assert degraded is not None
    assert degraded.reading == good.reading
    assert degraded.is_stale() is True
    assert degraded.seq == good.seq + 1
    assert "could not be read: junk" in degraded.notices[0]


def test_recovers_after_read_error() -> None:
    source = FlakySource()
    sampler = Sampler([("tegrastats", lambda: source)])
    source.failures.append(SourceReadError("bad line"))
    sampler.tick()
    sampler.tick()

    snapshot = sampler.latest

    assert snapshot is not None
    assert snapshot.is_stale() is False
    assert snapshot.notices == ()


def test_lost_source_fails_over_to_next() -> None:
    first = FlakySource()
    host = StaticSource("host")
    sampler = Sampler([("tegrastats", lambda: first), ("host", lambda: host)])
    sampler.tick()
    first.failures.append(SourceUnavailable("tegrastats stopped"))

    sampler.tick()
    sampler.tick()
    snapshot = sampler.latest

    assert first.closed is True
    assert snapshot is not None
    assert snapshot.source == "host"
    assert "tegrastats stopped" in snapshot.notices


def test_history_bounded() -> None:
    source = StaticSource()
    sampler = Sampler([("tegrastats", lambda: source)], interval_s=1.0, history_s=5)

    for _ in range(8):
        sampler.tick()

    assert len(sampler.history()) == 5
    assert sampler.history()[-1].seq == 8


def test_extras_fill_disk_and_uptime() -> None:
    disk = DiskReading("/", 10.0, 100.0)
    sampler = Sampler([("tegrastats", StaticSource)], extras=lambda: {"disk": disk, "uptime_s": 42.0})

    sampler.tick()
    snapshot = sampler.latest

    assert snapshot is not None
    assert snapshot.reading.disk == disk
    assert snapshot.reading.uptime_s == 42.0
    assert snapshot.reading.cpu == SAMPLE_READING.cpu


def test_snapshot_stale_after_three_intervals() -> None:
    sampler = Sampler([("tegrastats", StaticSource)], interval_s=1.0)
    sampler.tick()
    snapshot = sampler.latest
    assert snapshot is not None

    later = snapshot.sampled_at + timedelta(seconds=3.5)

    assert snapshot.is_stale(snapshot.sampled_at + timedelta(seconds=2)) is False
    assert snapshot.is_stale(later) is True
    assert snapshot.to_dict(later)["stale"] is True


def test_power_total_sums_rails_without_total() -> None:
    from webadmin.telemetry import PowerReading

    reading = Reading(power_mw={"GPU": PowerReading(621, 600), "CPU": PowerReading(465, 400)})

    assert reading.power_total == PowerReading(1086, 1000)


def test_sampled_at_is_utc_iso() -> None:
    sampler = Sampler([("tegrastats", StaticSource)])
    sampler.tick()
    snapshot = sampler.latest
    assert snapshot is not None

    text = snapshot.to_dict()["sampled_at"]

    assert text.endswith("Z")
    assert datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo == timezone.utc


def test_switches_back_to_preferred() -> None:
    jtop = FailingSource("jtop", "jtop: The jtop.service is not active.")
    jtop_later = StaticSource("jtop")
    factories = iter([jtop, jtop_later])
    host = StaticSource("host")
    sampler = Sampler([("jtop", lambda: next(factories)), ("host", lambda: host)])
    sampler.tick()
    sampler._last_preferred_try -= 61

    sampler.tick()
    snapshot = sampler.latest

    assert snapshot is not None
    assert snapshot.source == "jtop"
    assert snapshot.notices == ()
