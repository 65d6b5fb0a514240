"""Readers of the things webadmin watches; none of them knows Flask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..telemetry import Reading


class SourceUnavailable(Exception):
    """The source cannot be used on this machine now; the message tells the user why."""


class SourceReadError(Exception):
    """One reading failed, but the source is still usable."""


@dataclass(frozen=True)
class Sample:
    """A reading and the time it was taken (UTC)."""

    reading: Reading
    sampled_at: datetime


class TelemetrySource(Protocol):
    """What the sampler needs from each telemetry source."""

    name: str

    def open(self) -> None:
        """Connect or start; raise SourceUnavailable with a message for the user."""

    def read(self) -> Sample:
        """Return the newest sample; raise SourceReadError or SourceUnavailable."""

    def close(self) -> None:
        """Release the connection or the process."""
