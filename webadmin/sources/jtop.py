"""Jetson readings from the jtop service through the jetson-stats client.

The client connects to ``/run/jtop.sock``. It reports clocks in kHz and
memory in KB; this module converts them to MHz and MB. Power is in mW,
temperatures in degrees C, the disk in GB. Every failure of the client is a
``JtopException`` whose text contains the command that fixes it, so that text
is passed on unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from ..telemetry import (
    BoardState,
    CoreReading,
    CpuReading,
    DiskReading,
    EngineReading,
    MemoryReading,
    PowerReading,
    Reading,
)
from . import Sample, SourceUnavailable

logger = logging.getLogger(__name__)

OFFLINE_TEMPERATURE_C = -256
KB_PER_MB = 1024


def _default_client(interval_s: float) -> Any:
    from jtop import jtop

    return jtop(interval=interval_s)


def _jtop_errors() -> tuple[type[BaseException], ...]:
    from jtop import JtopException

    return (JtopException,)


class JtopSource:
    """Telemetry from jtop; ``client_factory`` builds the client, so tests can pass a fake."""

    name = "jtop"

    def __init__(
        self,
        interval_s: float = 1.0,
        client_factory: Callable[[float], Any] = _default_client,
        errors: tuple[type[BaseException], ...] | None = None,
    ) -> None:
        self._interval_s = interval_s
        self._factory = client_factory
        self._errors = errors
        self._client: Any = None

    def open(self) -> None:
        """Connect to the jtop service; raise SourceUnavailable with jtop's message."""
        try:
            client = self._factory(self._interval_s)
            client.start()
        except self._error_types() as error:
            raise SourceUnavailable(_message(error)) from error
        self._client = client

    def read(self) -> Sample:
        """Read the newest values the jtop service sent."""
        try:
            self._client.ok(spin=True)
            reading = reading_from_client(self._client)
        except self._error_types() as error:
            raise SourceUnavailable(_message(error)) from error
        return Sample(reading, datetime.now(timezone.utc))

    def close(self) -> None:
        """Disconnect from the jtop service."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.close()
        except Exception as error:  # noqa: BLE001 - closing a dead link must not crash the sampler
            logger.debug("Closing the jtop client failed: %s", error)

    def _error_types(self) -> tuple[type[BaseException], ...]:
        if self._errors is None:
            self._errors = _jtop_errors()
        return self._errors


def _message(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"jtop: {text}" if text else f"jtop: {type(error).__name__}"


def reading_from_client(client: Any) -> Reading:
    """Convert the properties of a connected jtop client into a Reading."""
    power = _power(client.power or {})
    return Reading(
        cpu=_cpu(client.cpu),
        memory=_memory(client.memory, "RAM"),
        swap=_memory(client.memory, "SWAP"),
        gpu=_gpu(client.gpu),
        emc=_emc(client.memory),
        temperatures_c=_temperatures(client.temperature or {}),
        power_mw=power[0],
        power_total_rail=power[1],
        engines=_engines(client.engine or {}),
        disk=_disk(client.disk),
        uptime_s=_uptime(client.uptime),
        board=_board(client),
    )


def _cpu(cpu: dict[str, Any]) -> CpuReading:
    cores = []
    for index, core in enumerate(cpu.get("cpu", [])):
        if not core.get("online"):
            cores.append(CoreReading(index, online=False))
            continue
        idle = core.get("idle")
        percent = round(100.0 - idle, 1) if idle is not None else None
        cores.append(CoreReading(index, True, percent, _mhz(core.get("freq", {}).get("cur"))))
    return CpuReading(tuple(cores))


def _memory(memory: Any, key: str) -> MemoryReading | None:
    part = memory.get(key) if memory else None
    if not part or not part.get("tot"):
        return None
    return MemoryReading(round(part["used"] / KB_PER_MB, 1), round(part["tot"] / KB_PER_MB, 1))


def _gpu(gpu: Any) -> EngineReading | None:
    # The key is the device-tree name of the iGPU (gpu, gv11b, ga10b...), so take the first.
    for device in (gpu or {}).values():
        load = device.get("status", {}).get("load")
        return EngineReading(load, _mhz(device.get("freq", {}).get("cur")))
    return None


def _emc(memory: Any) -> EngineReading | None:
    emc = memory.get("EMC") if memory else None
    if not emc or not emc.get("online", True):
        return None
    return EngineReading(emc.get("val"), _mhz(emc.get("cur")))


def _temperatures(sensors: dict[str, Any]) -> dict[str, float]:
    return {
        name.lower(): round(float(values["temp"]), 1)
        for name, values in sensors.items()
        if values.get("online", True) and values.get("temp", OFFLINE_TEMPERATURE_C) > OFFLINE_TEMPERATURE_C
    }


def _power(power: dict[str, Any]) -> tuple[dict[str, PowerReading], str | None]:
    rails = {
        name: PowerReading(int(values["power"]), _int_or_none(values.get("avg")))
        for name, values in power.get("rail", {}).items()
        if values.get("online", True) and "power" in values
    }
    total = power.get("tot") or {}
    # jtop names the total only when the board has a VDD_IN or POM_5V_IN rail.
    # Without a name, the total is the sum of the rails, which Reading computes too.
    total_name = total.get("name")
    if total_name and "power" in total:
        rails[total_name] = PowerReading(int(total["power"]), _int_or_none(total.get("avg")))
    return rails, total_name


def _engines(groups: dict[str, Any]) -> dict[str, EngineReading]:
    engines = {}
    for group in groups.values():
        for name, engine in group.items():
            freq = _mhz(engine.get("cur")) if engine.get("online") else None
            engines[name] = EngineReading(None, freq)
    return engines


def _disk(disk: Any) -> DiskReading | None:
    if not disk or "total" not in disk or disk.get("unit", "G") != "G":
        return None
    return DiskReading("/", round(disk["used"], 1), round(disk["total"], 1))


def _uptime(uptime: Any) -> float | None:
    return round(uptime.total_seconds(), 0) if isinstance(uptime, timedelta) else None


def _board(client: Any) -> BoardState:
    nvpmodel = client.nvpmodel
    clocks = client.jetson_clocks
    return BoardState(
        power_mode=getattr(nvpmodel, "name", None) if nvpmodel is not None else None,
        jetson_clocks=bool(clocks) if clocks is not None else None,
        fan_percent=_fan_percent(client.fan),
    )


def _fan_percent(fan: Any) -> float | None:
    for values in dict(fan or {}).values():
        speeds = values.get("speed") or []
        return round(float(speeds[0]), 1) if speeds else None
    return None


def _mhz(khz: Any) -> int | None:
    return round(khz / 1000) if isinstance(khz, (int, float)) else None


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None
