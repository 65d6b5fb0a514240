"""Snapshot types shared by the telemetry sources, the sampler and the views.

Units are in the field names: megabytes (``_mb``), megahertz (``_mhz``),
milliwatts (``_mw``), degrees Celsius (``_c``) and seconds (``_s``).
A field is ``None`` when the source has no value for it on this machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

STALE_AFTER_INTERVALS = 3


@dataclass(frozen=True)
class CoreReading:
    """One CPU core: offline cores have no load and no frequency."""

    index: int
    online: bool
    percent: float | None = None
    freq_mhz: int | None = None


@dataclass(frozen=True)
class CpuReading:
    """All CPU cores of the board, in the order the source lists them."""

    cores: tuple[CoreReading, ...]

    @property
    def percent(self) -> float | None:
        """Return the mean load of the online cores that report one."""
        loads = [c.percent for c in self.cores if c.online and c.percent is not None]
        if not loads:
            return None
        return round(sum(loads) / len(loads), 1)


@dataclass(frozen=True)
class MemoryReading:
    """Used and total size of RAM or swap."""

    used_mb: float
    total_mb: float


@dataclass(frozen=True)
class EngineReading:
    """Load and clock of a hardware unit such as the GPU or the memory controller."""

    percent: float | None = None
    freq_mhz: int | None = None


@dataclass(frozen=True)
class PowerReading:
    """Power on one rail: the current value and the source's running average."""

    current: int
    average: int | None = None


@dataclass(frozen=True)
class DiskReading:
    """Usage of the file system that contains ``path``."""

    path: str
    used_gb: float
    total_gb: float


@dataclass(frozen=True)
class BoardState:
    """Jetson power controls, which only jtop reports."""

    power_mode: str | None = None
    jetson_clocks: bool | None = None
    fan_percent: float | None = None


@dataclass(frozen=True)
class Reading:
    """One reading from a telemetry source."""

    cpu: CpuReading | None = None
    memory: MemoryReading | None = None
    swap: MemoryReading | None = None
    gpu: EngineReading | None = None
    emc: EngineReading | None = None
    temperatures_c: dict[str, float] = field(default_factory=dict)
    power_mw: dict[str, PowerReading] = field(default_factory=dict)
    # The rail that measures the whole board (VDD_IN, POM_5V_IN, VIN), when the
    # board has one. Without it the total is the sum of the rails, as jtop does.
    power_total_rail: str | None = None
    engines: dict[str, EngineReading] = field(default_factory=dict)
    disk: DiskReading | None = None
    uptime_s: float | None = None
    board: BoardState | None = None

    @property
    def power_total(self) -> PowerReading | None:
        """Return the board's total power, or None when no rail is reported."""
        if self.power_total_rail and self.power_total_rail in self.power_mw:
            return self.power_mw[self.power_total_rail]
        if not self.power_mw:
            return None
        rails = self.power_mw.values()
        averages = [r.average for r in rails if r.average is not None]
        average = sum(averages) if len(averages) == len(self.power_mw) else None
        return PowerReading(current=sum(r.current for r in rails), average=average)


@dataclass(frozen=True)
class Snapshot:
    """The newest reading with where and when it was taken.

    ``seq`` grows by one for every new snapshot, so a view can cache what it
    rendered from one snapshot and reuse it until the next.
    """

    source: str
    sampled_at: datetime
    reading: Reading
    seq: int = 0
    interval_s: float = 1.0
    # Set when the source's newest output could not be read, so this
    # snapshot repeats the last good reading.
    degraded: bool = False
    notices: tuple[str, ...] = ()

    def is_stale(self, now: datetime | None = None) -> bool:
        """Tell whether the reading is too old to be called live."""
        if self.degraded:
            return True
        now = now or datetime.now(timezone.utc)
        age_s = (now - self.sampled_at).total_seconds()
        return age_s > STALE_AFTER_INTERVALS * self.interval_s

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """Build the telemetry document of the JSON API."""
        reading = self.reading
        total = reading.power_total
        return {
            "source": self.source,
            "sampled_at": self.sampled_at.isoformat().replace("+00:00", "Z"),
            "stale": self.is_stale(now),
            "notices": list(self.notices),
            "cpu": _cpu_dict(reading.cpu),
            "memory": _memory_dict(reading.memory),
            "swap": _memory_dict(reading.swap),
            "gpu": _engine_dict(reading.gpu),
            "emc": _engine_dict(reading.emc),
            "engines": {name: _engine_dict(e) for name, e in reading.engines.items()},
            "temperatures_c": dict(reading.temperatures_c),
            "power_mw": {name: _power_dict(p) for name, p in reading.power_mw.items()},
            "power_total_mw": _power_dict(total) if total else None,
            "disk": _disk_dict(reading.disk),
            "uptime_s": reading.uptime_s,
            "board": _board_dict(reading.board),
        }


def _cpu_dict(cpu: CpuReading | None) -> dict[str, Any] | None:
    if cpu is None:
        return None
    cores = [{"index": c.index, "online": c.online, "percent": c.percent, "freq_mhz": c.freq_mhz} for c in cpu.cores]
    return {"percent": cpu.percent, "cores": cores}


def _memory_dict(memory: MemoryReading | None) -> dict[str, float] | None:
    if memory is None:
        return None
    return {"used_mb": memory.used_mb, "total_mb": memory.total_mb}


def _engine_dict(engine: EngineReading | None) -> dict[str, Any] | None:
    if engine is None:
        return None
    return {"percent": engine.percent, "freq_mhz": engine.freq_mhz}


def _power_dict(power: PowerReading) -> dict[str, int | None]:
    return {"current": power.current, "average": power.average}


def _disk_dict(disk: DiskReading | None) -> dict[str, Any] | None:
    if disk is None:
        return None
    return {"path": disk.path, "used_gb": disk.used_gb, "total_gb": disk.total_gb}


def _board_dict(board: BoardState | None) -> dict[str, Any] | None:
    if board is None:
        return None
    return {
        "power_mode": board.power_mode,
        "jetson_clocks": board.jetson_clocks,
        "fan_percent": board.fan_percent,
    }
