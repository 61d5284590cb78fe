"""Server-rendered line charts: date series in, SVG geometry (numbers only) out.

The template draws the geometry; no text from the data reaches an SVG attribute, and
labels go through the template's autoescaping like everything else. No JavaScript.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28
X_TICKS, Y_TICKS = 5, 5


@dataclass(frozen=True)
class Line:
    """One model's series: its polyline segments (gaps where it has no value) and its last value."""

    label: str
    css: str  # "s0" (this model), "s1" (the champion)
    segments: tuple[str, ...]
    last: str


@dataclass(frozen=True)
class Chart:
    """A chart's geometry in a ``WIDTH`` × ``HEIGHT`` viewBox."""

    key: str  # an id for aria-labelledby
    title: str
    unit: str
    lines: tuple[Line, ...]
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    ref: tuple[float, str] | None  # (y, label) of a reference line
    start: date | None
    end: date | None
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    top: int = TOP
    bottom_edge: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not any(line.segments for line in self.lines)


def _days(series: pd.Series) -> list[date]:
    return [pd.Timestamp(d).date() for d in series.index]


def _bounds(values: list[float], ref: float | None) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)] + ([ref] if ref is not None else [])
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    pad = (high - low) * 0.08 or max(abs(high) * 0.05, 0.5)
    return low - pad, high + pad


def line_chart(
    key: str,
    title: str,
    unit: str,
    lines: Sequence[tuple[str, pd.Series]],
    fmt: Callable[[float], str],
    ref: tuple[float, str] | None = None,
) -> Chart:
    """Lines over the union of their dates (one x position per calendar day), y scaled to fit all."""
    all_days = sorted({d for _, s in lines for d in _days(s)})
    values = [float(v) for _, s in lines for v in s.to_numpy(np.float64)]
    low, high = _bounds(values, ref[0] if ref else None)
    if not all_days:
        return Chart(key, title, unit, tuple(Line(label, f"s{i}", (), "n/a") for i, (label, _) in enumerate(lines)),
                     (), (), None, None, None)  # fmt: skip
    first, span = all_days[0], max((all_days[-1] - all_days[0]).days, 1)

    def x(day: date) -> float:
        return LEFT + (WIDTH - RIGHT - LEFT) * (day - first).days / span

    def y(value: float) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * (value - low) / (high - low)

    drawn = []
    for i, (label, series) in enumerate(lines):
        segments, current = [], []
        for day, value in zip(_days(series), series.to_numpy(np.float64), strict=True):
            if math.isfinite(value):
                current.append(f"{x(day):.1f},{y(value):.1f}")
            elif current:
                segments.append(" ".join(current))
                current = []
        if current:
            segments.append(" ".join(current))
        finite = series.dropna()
        drawn.append(Line(label, f"s{i}", tuple(segments), fmt(float(finite.iloc[-1])) if len(finite) else "n/a"))
    step = max(1, len(all_days) // X_TICKS)
    x_ticks = tuple((x(d), d.isoformat()) for d in all_days[::step])
    y_ticks = tuple((y(v), fmt(v)) for v in np.linspace(low, high, Y_TICKS))
    ref_line = (y(ref[0]), ref[1]) if ref else None
    return Chart(key, title, unit, tuple(drawn), x_ticks, y_ticks, ref_line, all_days[0], all_days[-1])
