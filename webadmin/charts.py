"""Small server-rendered SVG trend lines built from the sampler's history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .telemetry import Snapshot

CHART_WIDTH = 300
CHART_HEIGHT = 60
MAX_POINTS = 120


@dataclass(frozen=True)
class Trend:
    """One trend line: its label, unit, newest value and SVG polyline segments."""

    label: str
    unit: str
    latest: float | None
    low: float | None
    high: float | None
    segments: tuple[str, ...]

    @property
    def has_data(self) -> bool:
        """Tell whether any point has a value."""
        return bool(self.segments)


Extractor = Callable[[Snapshot], float | None]


def _cpu(s: Snapshot) -> float | None:
    return s.reading.cpu.percent if s.reading.cpu else None


def _gpu(s: Snapshot) -> float | None:
    return s.reading.gpu.percent if s.reading.gpu else None


def _temperature(s: Snapshot) -> float | None:
    values = s.reading.temperatures_c.values()
    return max(values) if values else None


def _power_w(s: Snapshot) -> float | None:
    total = s.reading.power_total
    return round(total.current / 1000, 2) if total else None


TREND_DEFINITIONS: tuple[tuple[str, str, Extractor, float | None], ...] = (
    ("CPU", "%", _cpu, 100.0),
    ("GPU", "%", _gpu, 100.0),
    ("Hottest sensor", "°C", _temperature, None),
    ("Total power", "W", _power_w, None),
)


def build_trends(history: Sequence[Snapshot]) -> list[Trend]:
    """Build every trend line from the history, oldest sample on the left."""
    points = _downsample(history)
    return [
        build_trend(label, unit, [extract(s) for s in points], scale_max)
        for label, unit, extract, scale_max in TREND_DEFINITIONS
    ]


def build_trend(label: str, unit: str, values: Sequence[float | None], scale_max: float | None = None) -> Trend:
    """Turn values into polyline segments; a gap (None) splits the line."""
    present = [v for v in values if v is not None]
    if not present:
        return Trend(label, unit, None, None, None, ())
    low = 0.0 if scale_max else min(present)
    high = scale_max or max(present)
    span = (high - low) or 1.0
    step = CHART_WIDTH / max(len(values) - 1, 1)
    segments: list[list[str]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            segments.append([])
            continue
        y = CHART_HEIGHT - (value - low) / span * (CHART_HEIGHT - 4) - 2
        segments[-1].append(f"{index * step:.1f},{y:.1f}")
    lines = tuple(" ".join(s) for s in segments if s)
    return Trend(label, unit, values[-1], min(present), max(present), lines)


def _downsample(history: Sequence[Snapshot]) -> Sequence[Snapshot]:
    if len(history) <= MAX_POINTS:
        return history
    stride = len(history) / MAX_POINTS
    points = [history[int(i * stride)] for i in range(MAX_POINTS - 1)]
    # The newest sample is always kept, so the caption matches the tiles.
    return [*points, history[-1]]
