"""Host readings through psutil, for machines that are not Jetson boards.

Reads per-core CPU load (percent since the previous read) and clock (MHz),
memory and swap (MB), temperatures (degrees C), the root disk (GB) and the
uptime (seconds). GPU, EMC and power rails stay None: psutil has none.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

import psutil

from ..telemetry import CoreReading, CpuReading, DiskReading, MemoryReading, Reading
from . import Sample

logger = logging.getLogger(__name__)

BYTES_PER_MB = 1024 * 1024
BYTES_PER_GB = 1024**3
DISK_PATH = "/"
MIN_CPU_WINDOW_S = 0.5


class HostSource:
    """Telemetry from the operating system through psutil."""

    name = "host"

    def __init__(self, psutil_module: ModuleType | Any = psutil, disk_path: str = DISK_PATH) -> None:
        self._psutil = psutil_module
        self._disk_path = disk_path
        self._cpu_window_started = 0.0

    def open(self) -> None:
        """Take the first CPU time reading, which later loads are measured from."""
        self._psutil.cpu_percent(percpu=True)
        self._cpu_window_started = time.monotonic()

    def read(self) -> Sample:
        """Read everything psutil reports on this machine."""
        memory = self._psutil.virtual_memory()
        reading = Reading(
            cpu=self._cpu(),
            memory=MemoryReading(_mb(memory.total - memory.available), _mb(memory.total)),
            swap=self._swap(),
            temperatures_c=self._temperatures(),
            **host_extras(self._psutil, self._disk_path),
        )
        return Sample(reading, datetime.now(timezone.utc))

    def close(self) -> None:
        """Nothing to release: psutil holds no connection."""

    def _cpu(self) -> CpuReading:
        # psutil measures load since its previous call; right after open() that
        # window is too short to mean anything, so the first read has no load.
        measured = time.monotonic() - self._cpu_window_started >= MIN_CPU_WINDOW_S
        loads: list[float | None] = list(self._psutil.cpu_percent(percpu=True))
        if not measured:
            loads = [None] * len(loads)
        freqs = _core_freqs(self._psutil, len(loads))
        cores = tuple(
            CoreReading(index=i, online=True, percent=None if load is None else float(load), freq_mhz=freqs[i])
            for i, load in enumerate(loads)
        )
        return CpuReading(cores)

    def _swap(self) -> MemoryReading | None:
        swap = self._psutil.swap_memory()
        if not swap.total:
            return None
        return MemoryReading(_mb(swap.used), _mb(swap.total))

    def _temperatures(self) -> dict[str, float]:
        read = getattr(self._psutil, "sensors_temperatures", None)
        if read is None:
            return {}
        try:
            chips = read()
        except OSError as error:
            logger.debug("Reading temperatures failed: %s", error)
            return {}
        return _name_sensors(chips)


def host_extras(psutil_module: ModuleType | Any, disk_path: str = DISK_PATH) -> dict[str, Any]:
    """Read the disk and the uptime, which tegrastats does not print."""
    return {"disk": _disk(psutil_module, disk_path), "uptime_s": _uptime_s(psutil_module)}


def _disk(psutil_module: ModuleType | Any, path: str) -> DiskReading | None:
    try:
        usage = psutil_module.disk_usage(path)
    except OSError as error:
        logger.debug("Reading disk usage of %s failed: %s", path, error)
        return None
    return DiskReading(path, round(usage.used / BYTES_PER_GB, 1), round(usage.total / BYTES_PER_GB, 1))


def _uptime_s(psutil_module: ModuleType | Any) -> float:
    return round(time.time() - float(psutil_module.boot_time()), 0)


def _core_freqs(psutil_module: ModuleType | Any, count: int) -> list[int | None]:
    # Virtual machines often have no cpufreq; an empty list means no clocks.
    try:
        freqs = psutil_module.cpu_freq(percpu=True) or []
    except (OSError, NotImplementedError):
        freqs = []
    values: list[int | None] = [round(f.current) if f.current else None for f in freqs]
    if len(values) == 1 and count > 1:
        values = values * count
    return (values + [None] * count)[:count]


def _name_sensors(chips: dict[str, list[Any]]) -> dict[str, float]:
    named: dict[str, float] = {}
    for chip, sensors in chips.items():
        for index, sensor in enumerate(sensors):
            label = (sensor.label or f"{chip}{index if len(sensors) > 1 else ''}").lower()
            if sensor.current is None or sensor.current <= -256:
                continue
            name = label if label not in named else f"{chip}_{label}".lower()
            named[name] = round(float(sensor.current), 1)
    return named


def _mb(value_bytes: float) -> float:
    return round(value_bytes / BYTES_PER_MB, 1)
