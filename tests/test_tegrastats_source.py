"""The tegrastats source running a real command that prints tegrastats lines."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from webadmin.sources import SourceReadError, SourceUnavailable
from webadmin.sources.tegrastats import TegrastatsSource

DATA = Path(__file__).parent / "data" / "tegrastats"


def printer(lines: list[str], pause_s: float = 0.05, then_sleep_s: float = 30) -> list[str]:
    """Return a command that prints the lines, then stays alive like tegrastats does."""
    script = (
        "import sys, time\n"
        f"for line in {lines!r}:\n"
        "    print(line, flush=True)\n"
        f"    time.sleep({pause_s})\n"
        f"time.sleep({then_sleep_s})\n"
    )
    return [sys.executable, "-c", script]


def wait_until(condition, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def sample(name: str) -> str:
    return (DATA / name).read_text().strip()


def test_reads_lines_from_command() -> None:
    source = TegrastatsSource(printer([sample("XNX-03.txt")]))
    source.open()
    try:
        reading = source.read().reading
    finally:
        source.close()

    assert reading.memory is not None
    assert reading.memory.used_mb == 3168
    assert reading.power_total_rail == "VDD_IN"


def test_missing_command_unavailable() -> None:
    source = TegrastatsSource(["/nonexistent/tegrastats", "--interval", "1000"])

    with pytest.raises(SourceUnavailable, match="could not start: No such file or directory"):
        source.open()


def test_silent_command_unavailable() -> None:
    source = TegrastatsSource([sys.executable, "-c", "import time; time.sleep(30)"], first_line_timeout_s=0.5)

    with pytest.raises(SourceUnavailable, match="no tegrastats line within 0.5 s"):
        source.open()


def test_exiting_command_unavailable() -> None:
    source = TegrastatsSource([sys.executable, "-c", "import sys; sys.exit(3)"])

    with pytest.raises(SourceUnavailable, match="exited with code 3"):
        source.open()


def test_bad_line_keeps_last_good(caplog: pytest.LogCaptureFixture) -> None:
    good = sample("TX2-01.txt")
    source = TegrastatsSource(printer([good, "garbage <b>line</b>", "more garbage"], pause_s=0.2))
    source.open()
    try:
        first = source.read()
        wait_until(lambda: "garbage" in caplog.text)
        time.sleep(0.3)
        with pytest.raises(SourceReadError, match="could not be read: (more )?garbage"):
            source.read()
    finally:
        source.close()

    assert first.reading.memory is not None
    assert first.reading.memory.total_mb == 7852
    assert caplog.text.count("Ignoring a tegrastats line") == 1


def test_recovers_after_bad_line() -> None:
    source = TegrastatsSource(printer([sample("NANO-01.txt"), "junk", sample("NANO-03.txt")], pause_s=0.2))
    source.open()
    try:
        time.sleep(0.7)
        reading = source.read().reading
    finally:
        source.close()

    assert reading.memory is not None
    assert reading.memory.used_mb == 1923


def test_restarts_after_exit() -> None:
    line = sample("ONANO-01.txt")
    source = TegrastatsSource(printer([line], then_sleep_s=0), restart_delay_s=0.3)
    source.open()
    try:
        time.sleep(0.4)
        with pytest.raises(SourceReadError, match="tegrastats stopped"):
            source.read()
        time.sleep(0.4)
        source.read()
        reading = source.read().reading
    finally:
        source.close()

    assert reading.gpu is not None
    assert reading.gpu.percent == 63


def test_garbage_output_named() -> None:
    source = TegrastatsSource(printer(["garbage", "more garbage"], then_sleep_s=30), first_line_timeout_s=0.5)

    with pytest.raises(SourceUnavailable, match="its output is not tegrastats lines, such as '(more )?garbage'"):
        source.open()
