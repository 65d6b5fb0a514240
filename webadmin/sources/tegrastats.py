"""Jetson readings from a running ``tegrastats`` command (or any command that prints its lines).

A reader thread parses each line as it arrives and keeps the newest good
reading; the sampler takes it once per interval. A bad line is logged once and
the last good reading is kept, so one malformed line never stops the panel.
When the command exits (a replayed log ends, tegrastats is killed) it is
started again after a pause.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import IO, Any

from . import Sample, SourceReadError, SourceUnavailable
from .tegrastats_parser import TegrastatsLineError, parse_line

logger = logging.getLogger(__name__)

FIRST_LINE_TIMEOUT_S = 5.0
RESTART_DELAY_S = 5.0
MAX_LOGGED_LINE_CHARS = 300

Popen = Callable[..., "subprocess.Popen[str]"]


class TegrastatsSource:
    """Telemetry parsed from the lines of a tegrastats command."""

    name = "tegrastats"

    def __init__(
        self,
        argv: Sequence[str],
        popen: Popen = subprocess.Popen,
        first_line_timeout_s: float = FIRST_LINE_TIMEOUT_S,
        restart_delay_s: float = RESTART_DELAY_S,
    ) -> None:
        self._argv = list(argv)
        self._popen = popen
        self._first_line_timeout_s = first_line_timeout_s
        self._restart_delay_s = restart_delay_s
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._first_line = threading.Event()
        self._latest: Sample | None = None
        self._bad_line: str | None = None
        self._reader: threading.Thread | None = None
        self._exited_at: float | None = None

    def open(self) -> None:
        """Start the command and wait for its first good line."""
        self._start_process()
        if not self._first_line.wait(self._first_line_timeout_s) or self._latest is None:
            self._wait_for_exit()
            detail = self._open_failure_detail()
            self.close()
            raise SourceUnavailable(f"tegrastats ({shlex.join(self._argv)}): {detail}")

    def read(self) -> Sample:
        """Return the newest good reading; raise SourceReadError after a bad line or an exit."""
        self._restart_if_exited()
        with self._lock:
            latest, bad_line = self._latest, self._bad_line
        if latest is None:
            raise SourceReadError("tegrastats has printed no line yet")
        if bad_line is not None:
            raise SourceReadError(f"tegrastats printed a line that could not be read: {bad_line[:80]}")
        if self._process is None or self._process.poll() is not None:
            raise SourceReadError(f"tegrastats stopped; {self._exit_detail()}")
        return latest

    def close(self) -> None:
        """Stop the command and its reader thread."""
        process, self._process = self._process, None
        if process is not None:
            _stop_process(process)
        if self._reader is not None:
            self._reader.join(timeout=2)

    def _start_process(self) -> None:
        self._exited_at = None
        try:
            process = self._popen(
                self._argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                errors="replace",
                bufsize=1,
            )
        except OSError as error:
            raise SourceUnavailable(
                f"tegrastats ({shlex.join(self._argv)}) could not start: {error.strerror or error}"
            ) from error
        self._process = process
        self._reader = threading.Thread(
            target=self._read_lines, args=(process.stdout,), name="tegrastats-reader", daemon=True
        )
        self._reader.start()

    def _restart_if_exited(self) -> None:
        process = self._process
        if process is None or process.poll() is None:
            return
        # Wait a while after an exit, so a command that fails at once is not
        # restarted every second.
        now = time.monotonic()
        if self._exited_at is None:
            self._exited_at = now
            logger.warning("tegrastats exited with code %s", process.returncode)
            return
        if now - self._exited_at < self._restart_delay_s:
            return
        logger.info("Starting tegrastats again after it exited with code %s", process.returncode)
        try:
            self._start_process()
        except SourceUnavailable as error:
            logger.debug("Restarting tegrastats failed: %s", error)

    def _open_failure_detail(self) -> str:
        if self._bad_line is not None:
            return f"its output is not tegrastats lines, such as {self._bad_line[:80]!r}"
        exited = self._exit_detail()
        return exited or f"no tegrastats line within {self._first_line_timeout_s:g} s"

    def _wait_for_exit(self) -> None:
        # The output can end a moment before the process can be reaped.
        if self._process is not None:
            try:
                self._process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass

    def _exit_detail(self) -> str:
        process = self._process
        if process is None or process.poll() is None:
            return ""
        return f"the command exited with code {process.returncode}"

    def _read_lines(self, stream: IO[str] | Any) -> None:
        with stream:
            for line in stream:
                self._take_line(line.strip())
        self._first_line.set()

    def _take_line(self, line: str) -> None:
        if not line:
            return
        try:
            reading = parse_line(line)
        except TegrastatsLineError as error:
            self._note_bad_line(line, error)
            return
        with self._lock:
            recovered = self._bad_line is not None
            self._latest = Sample(reading, datetime.now(timezone.utc))
            self._bad_line = None
        if recovered:
            logger.info("tegrastats lines are readable again")
        self._first_line.set()

    def _note_bad_line(self, line: str, error: TegrastatsLineError) -> None:
        with self._lock:
            first = self._bad_line is None
            self._bad_line = line
        # Log the first bad line of a run at ERROR and the rest quietly, so a
        # broken board does not flood the log every second.
        level = logging.ERROR if first else logging.DEBUG
        logger.log(
            level, "Ignoring a tegrastats line that could not be read (%s): %r", error, line[:MAX_LOGGED_LINE_CHARS]
        )


def _stop_process(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=2)
