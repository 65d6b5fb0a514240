"""Parse one line of NVIDIA ``tegrastats`` output into a telemetry Reading.

A line looks like this (shortened)::

    RAM 2344/7852MB (lfb 1154x4MB) SWAP 0/3926MB (cached 0MB)
    CPU [1%@345,off,off,1%@345] EMC_FREQ 4%@1600 GR3D_FREQ 0%@624 APE 150
    PLL@37.5C GPU@35C VDD_IN 3056/3056 VDD_SYS_GPU 152/152

The parser reads RAM and swap in megabytes and temperatures in degrees
Celsius. It reads load in percent and clock in MHz for each CPU core, the GPU
(GR3D), the memory controller (EMC) and other engines such as NVENC. Power
rails are in milliwatts. The tests cover lines from Jetson TX1 to AGX Thor.
Tokens that the parser does not know are skipped, and so is the leading
timestamp.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from webadmin.telemetry import (
    CoreReading,
    CpuReading,
    EngineReading,
    MemoryReading,
    PowerReading,
    Reading,
)

# Rails that measure the whole board: VDD_IN (TX1, TX2, Xavier NX, Orin NX,
# Orin Nano), POM_5V_IN (Jetson Nano) and VIN (Thor). The other rails measure
# parts of the board. VIN_SYS_5V0 on AGX Orin feeds only part of the board, so
# it is not listed.
TOTAL_RAILS = ("VDD_IN", "POM_5V_IN", "VIN")

# tegrastats prints -256 C for a sensor that is powered down.
OFFLINE_TEMPERATURE_C = -256.0

# Digit counts are bounded because int() raises ValueError on a string longer
# than Python's integer string conversion limit (4300 digits by default).
_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*")
_MEMORY_RE = re.compile(r"(?P<used>[0-9]{1,12})/(?P<total>[0-9]{1,12})(?P<unit>kB|MB|GB)")
_CPU_LIST_RE = re.compile(r"\[(?P<cores>[^\]]*)\](?:@(?P<freq>[0-9]{1,9}))?")
_CORE_RE = re.compile(r"(?P<percent>[0-9]{1,3})%(?:@(?P<freq>[0-9]{1,9}))?")
_ENGINE_RE = re.compile(
    r"(?P<clock>[0-9]{1,9})"
    r"|(?:(?P<percent>[0-9]{1,3})%)?"
    r"(?:@(?:(?P<freq>[0-9]{1,9})|\[(?P<gpcs>[0-9]{1,9}(?:,[0-9]{1,9})*)\])?)?"
)
_TEMPERATURE_RE = re.compile(
    r"(?P<name>[A-Za-z][A-Za-z0-9_]*)@(?P<current>-?[0-9]{1,6}(?:\.[0-9]{1,6})?)C"
    r"(?:/-?[0-9]{1,6}(?:\.[0-9]{1,6})?C)?"
)
# The third value, printed by Thor, is the maximum and is not kept.
_POWER_RE = re.compile(
    r"(?P<current>[0-9]{1,9})(?P<unit>mW)?"
    r"(?:/(?P<average>[0-9]{1,9})(?:mW)?(?:/[0-9]{1,9}(?:mW)?)?)?"
)

_MEGABYTES_PER_UNIT = {"kB": 1 / 1024, "MB": 1.0, "GB": 1024.0}
_LINE_SHOWN_IN_ERROR_CHARS = 80

_Value = TypeVar("_Value")


class TegrastatsLineError(ValueError):
    """A line that is not tegrastats output because it has no valid RAM field."""


class _Tokens:
    """The whitespace-separated tokens of one line, read from left to right."""

    def __init__(self, line: str) -> None:
        self._items = line.split()
        self._position = 0

    def peek(self) -> str | None:
        """Return the next token without consuming it, or None at the end."""
        if self._position < len(self._items):
            return self._items[self._position]
        return None

    def take(self) -> str | None:
        """Consume and return the next token, or None at the end."""
        token = self.peek()
        self._position += 1
        return token


@dataclass
class _LineState:
    """The fields read so far from one line."""

    cpu: CpuReading | None = None
    memory: MemoryReading | None = None
    swap: MemoryReading | None = None
    gpu: EngineReading | None = None
    emc: EngineReading | None = None
    temperatures: dict[str, float] = field(default_factory=dict)
    power: dict[str, PowerReading] = field(default_factory=dict)
    engines: dict[str, EngineReading] = field(default_factory=dict)
    ram_error: str | None = None

    def to_reading(self) -> Reading:
        """Build the Reading, naming the rail that measures the whole board."""
        total_rail = next((name for name in TOTAL_RAILS if name in self.power), None)
        return Reading(
            cpu=self.cpu,
            memory=self.memory,
            swap=self.swap,
            gpu=self.gpu,
            emc=self.emc,
            temperatures_c=self.temperatures,
            power_mw=self.power,
            power_total_rail=total_rail,
            engines=self.engines,
        )


def parse_line(line: str) -> Reading:
    """Parse one tegrastats line.

    Raises TegrastatsLineError when the line has no valid RAM field, which
    every tegrastats line has. Other fields that are missing or malformed are
    left out of the Reading.
    """
    state = _LineState()
    tokens = _Tokens(line)
    while (token := tokens.take()) is not None:
        _read_token(token, tokens, state)

    if state.memory is None:
        raise TegrastatsLineError(_describe_missing_ram(line, state))
    return state.to_reading()


def _read_token(token: str, tokens: _Tokens, state: _LineState) -> None:
    if _read_temperature(token, state):
        return

    handler = _FIELD_HANDLERS.get(token)
    if handler is not None:
        handler(token, tokens, state)
    elif _NAME_RE.fullmatch(token):
        _read_rail_or_engine(token, tokens, state)


def _describe_missing_ram(line: str, state: _LineState) -> str:
    excerpt = line[:_LINE_SHOWN_IN_ERROR_CHARS]
    if len(line) > _LINE_SHOWN_IN_ERROR_CHARS:
        excerpt += "..."

    if not line.strip():
        return "empty line, expected a tegrastats line starting with its RAM field"
    if state.ram_error is not None:
        return f"{state.ram_error} in tegrastats line {excerpt!r}"
    return f"no RAM field in line {excerpt!r}, so it is not tegrastats output"


def _read_ram(name: str, tokens: _Tokens, state: _LineState) -> None:
    value = tokens.peek()
    memory = _parse_memory(value)
    if memory is None:
        state.ram_error = _describe_invalid_ram(value)
        return

    tokens.take()
    if state.memory is None:
        state.memory = memory


def _describe_invalid_ram(value: str | None) -> str:
    if value is None:
        return "RAM field has no value"
    return f"invalid RAM value {value!r}, expected used/total with a unit such as 1733/15827MB"


def _read_swap(name: str, tokens: _Tokens, state: _LineState) -> None:
    swap = _parse_memory(tokens.peek())
    if swap is not None:
        tokens.take()
        state.swap = swap


def _parse_memory(value: str | None) -> MemoryReading | None:
    # The unit is required, so a line cut inside the total does not pass as a
    # smaller total.
    match = _MEMORY_RE.fullmatch(value or "")
    if match is None:
        return None

    scale = _MEGABYTES_PER_UNIT[match["unit"]]
    return MemoryReading(used_mb=int(match["used"]) * scale, total_mb=int(match["total"]) * scale)


def _skip_field(name: str, tokens: _Tokens, state: _LineState) -> None:
    """Keep IRAM and MTS from being read as a power rail or an engine.

    Their values, such as "0/252kB(lfb 252kB)" and "fg 0% bg 0%", are not
    names, so the main loop skips them as unknown tokens.
    """


def _read_cpu(name: str, tokens: _Tokens, state: _LineState) -> None:
    value = tokens.peek()
    cpu = _parse_cpu_list(value or "")
    if cpu is not None:
        tokens.take()
        state.cpu = cpu
        return

    # AGX Xavier names its CPU power rail "CPU" too, as in "CPU 465/465".
    _read_rail_or_engine(name, tokens, state)


def _parse_cpu_list(value: str) -> CpuReading | None:
    """Parse "[1%@345,off]" or, in the L4T 28 format, "[17%,13%]@408" (one shared clock)."""
    match = _CPU_LIST_RE.fullmatch(value)
    if match is None:
        return None

    shared_freq = _to_int(match["freq"])
    cores = []
    for index, entry in enumerate(match["cores"].split(",")):
        core = _parse_core(index, entry, shared_freq)
        if core is None:
            return None
        cores.append(core)
    return CpuReading(cores=tuple(cores))


def _parse_core(index: int, entry: str, shared_freq: int | None) -> CoreReading | None:
    if entry == "off":
        return CoreReading(index=index, online=False)

    match = _CORE_RE.fullmatch(entry)
    if match is None:
        return None
    freq = _to_int(match["freq"])
    return CoreReading(
        index=index,
        online=True,
        percent=float(match["percent"]),
        freq_mhz=shared_freq if freq is None else freq,
    )


def _read_gpu(name: str, tokens: _Tokens, state: _LineState) -> None:
    engine = _take_engine(tokens)
    if engine is not None:
        state.gpu = engine


def _read_emc(name: str, tokens: _Tokens, state: _LineState) -> None:
    engine = _take_engine(tokens)
    if engine is not None:
        state.emc = engine


def _read_rail_or_engine(name: str, tokens: _Tokens, state: _LineState) -> None:
    """Read "NAME 152/152" as a power rail, or "NAME 1%@115" as an engine.

    A value counts as power only with a "/" or an mW unit, because a bare
    number such as "APE 174" or "NVENC 716" is an engine clock in MHz.
    """
    value = tokens.peek()
    if value is None:
        return

    power = _parse_power(value)
    if power is not None:
        tokens.take()
        _store_unique(state.power, name, power)
        return

    engine = _parse_engine(value)
    if engine is not None:
        tokens.take()
        _store_unique(state.engines, name, engine)


def _parse_power(value: str) -> PowerReading | None:
    match = _POWER_RE.fullmatch(value)
    if match is None:
        return None

    # NOTE: a line cut inside its last number, such as "SYS5V 2053/205", reads
    # as a smaller value because nothing marks the cut.
    average = _to_int(match["average"])
    if match["unit"] is None and average is None:
        return None
    return PowerReading(current=int(match["current"]), average=average)


def _take_engine(tokens: _Tokens) -> EngineReading | None:
    engine = _parse_engine(tokens.peek() or "")
    if engine is not None:
        tokens.take()
    return engine


def _parse_engine(value: str) -> EngineReading | None:
    """Parse "1%@115", "7%", "@1691", "0%@[305,305]", "716" (MHz) or "off"."""
    # An engine that is off is powered down, so it has neither load nor clock.
    if value == "off":
        return EngineReading()

    match = _ENGINE_RE.fullmatch(value)
    if match is None:
        return None
    if match["clock"] is not None:
        return EngineReading(freq_mhz=int(match["clock"]))

    percent = None if match["percent"] is None else float(match["percent"])
    freq = _engine_freq(match)
    if percent is None and freq is None:
        return None
    return EngineReading(percent=percent, freq_mhz=freq)


def _engine_freq(match: re.Match[str]) -> int | None:
    # A GPU with several GPCs prints one clock per GPC, and the highest one is
    # the GPU clock.
    if match["gpcs"] is not None:
        return max(int(freq) for freq in match["gpcs"].split(","))
    return _to_int(match["freq"])


def _read_temperature(token: str, state: _LineState) -> bool:
    """Store "GPU@35C" or Thor's "cpu@58.25C/61.75C" (current value first) and return True."""
    match = _TEMPERATURE_RE.fullmatch(token)
    if match is None:
        return False

    name = match["name"].lower()
    celsius = float(match["current"])
    # PMIC reads a constant 100 C (50 C on later releases) on TX, Nano and
    # Xavier boards because it is a dummy sensor. jetson-stats 7.2.2 skips it too.
    if name == "pmic" or celsius == OFFLINE_TEMPERATURE_C:
        return True

    _store_unique(state.temperatures, name, celsius)
    return True


def _store_unique(mapping: dict[str, _Value], name: str, value: _Value) -> None:
    """Store value under name, or under "name#2", "name#3" when the name is taken.

    AGX Orin prints two rails named "NC", and both are kept.
    """
    key = name
    count = 1
    while key in mapping:
        count += 1
        key = f"{name}#{count}"
    mapping[key] = value


def _to_int(digits: str | None) -> int | None:
    return None if digits is None else int(digits)


_FieldHandler = Callable[[str, _Tokens, _LineState], None]

_FIELD_HANDLERS: dict[str, _FieldHandler] = {
    "RAM": _read_ram,
    "SWAP": _read_swap,
    "IRAM": _skip_field,
    "MTS": _skip_field,
    "CPU": _read_cpu,
    "cpu": _read_cpu,  # L4T 28 format
    "EMC_FREQ": _read_emc,
    "EMC": _read_emc,  # L4T 28 format
    "GR3D_FREQ": _read_gpu,
    "GR3D": _read_gpu,  # L4T 28 format
}
