"""Readers of the board, the host and the Docker engine, with no Flask in them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..telemetry import Reading


class SourceUnavailable(Exception):
    """The source cannot be used on this machine now, for the reason in the message."""


class SourceReadError(Exception):
    """One reading failed, but the source is still usable."""


@dataclass(frozen=True)
class Sample:
    """A reading and the time it was taken (UTC)."""

    reading: Reading
    sampled_at: datetime


class TelemetrySource(Protocol):
    """Interface of a telemetry source, as the sampler uses it."""

    name: str

    def open(self) -> None:
        """Connect or start; raise SourceUnavailable with a message for the user."""

    def read(self) -> Sample:
        """Return the newest sample; raise SourceReadError or SourceUnavailable."""

    def close(self) -> None:
        """Release the connection or the process."""
