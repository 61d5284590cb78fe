"""Server-rendered charts: date series in, SVG geometry (numbers only) out.

The template draws the geometry; no text from the data reaches an SVG attribute, and
labels go through the template's autoescaping like everything else. No JavaScript.
Axes carry "nice" ticks (1, 2, 2.5 or 5 times a power of ten) and the plot spans them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28
X_TICKS, Y_TICKS = 5, 5
BAR_STRIP = 56  # height of the strip under a chart that carries bars (bets per day)


@dataclass(frozen=True)
class Line:
    """One model's series: its polyline segments (gaps where it has no value) and its last value."""

    label: str
    css: str  # "s0" (this model), "s1" (the champion: dashed, and so is its legend swatch)
    segments: tuple[str, ...]
    last: str
    role: str = ""  # "this model" / "champion" (the legend's words)


@dataclass(frozen=True)
class Mark:
    """A marked stretch of a line (the maximum drawdown): from (x1, y1) to (x2, y2), in words."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str


@dataclass(frozen=True, kw_only=True)
class Plot:
    """A plot's frame in a ``width`` × ``height`` viewBox: the edges its axes are drawn on."""

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    top: int = TOP
    bottom_edge: int = HEIGHT - BOTTOM


@dataclass(frozen=True)
class Chart(Plot):
    """A chart's geometry in a ``width`` × ``height`` viewBox."""

    key: str  # an id for aria-labelledby
    title: str
    unit: str
    lines: tuple[Line, ...]
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    ref: tuple[float, str] | None  # (y, label) of a reference line
    start: date | None
    end: date | None
    band: str = ""  # polygon points of a shaded 95% interval band ("" for none)
    band_label: str = ""
    bars: tuple[tuple[float, float, float, float], ...] = ()  # (x, y, width, height) in the bar strip
    bars_label: str = ""
    mark: Mark | None = None
    note: str = ""  # what the caption adds (what is omitted and why)
    table: tuple[tuple[str, ...], ...] = ()  # the data-table fallback: header row first

    @property
    def empty(self) -> bool:
        return not any(line.segments for line in self.lines)


def _nice_step(span: float, count: int) -> float:
    raw = span / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw * (1 - 1e-9))


def nice_ticks(low: float, high: float, count: int = Y_TICKS) -> tuple[float, float, tuple[float, ...]]:
    """(low, high, ticks): the range widened to whole multiples of a nice step (1, 2, 2.5, 5 × 10^k),
    about ``count`` ticks on it."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        centre = low if math.isfinite(low) else 0.0
        low, high = centre - 1.0, centre + 1.0
    step = _nice_step(high - low, count)
    first, last = math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step
    ticks = tuple(round(first + i * step, 10) for i in range(int(round((last - first) / step)) + 1))
    return first, last, ticks


def tick_format(ticks: Sequence[float], sign: bool = False) -> Callable[[float], str]:
    """A formatter with as many decimals as the ticks' step needs (51, 52.5, 0.25 …)."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    digits = 0 if step >= 1 and float(step).is_integer() else max(0, -math.floor(math.log10(step)) + 1)
    digits = min(digits, 1) if step >= 0.5 else digits
    return lambda v: "0" if abs(v) < step * 1e-6 else f"{v:{'+' if sign else ''}.{digits}f}"


def _days(series: pd.Series) -> list[date]:
    return [pd.Timestamp(d).date() for d in series.index]


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


@dataclass(frozen=True)
class _Frame:
    first: date
    span: int
    low: float
    high: float
    bottom: float  # the plot's bottom edge (above a bar strip)

    def x(self, day: date) -> float:
        return LEFT + (WIDTH - RIGHT - LEFT) * (day - self.first).days / self.span

    def y(self, value: float) -> float:
        return self.bottom - (self.bottom - TOP) * (value - self.low) / (self.high - self.low)


def _segments(frame: _Frame, series: pd.Series) -> tuple[str, ...]:
    segments, current = [], []
    for day, value in zip(_days(series), series.to_numpy(np.float64), strict=True):
        if math.isfinite(value):
            current.append(f"{frame.x(day):.1f},{frame.y(value):.1f}")
        elif current:
            segments.append(" ".join(current))
            current = []
    if current:
        segments.append(" ".join(current))
    return tuple(segments)


def line_chart(
    key: str,
    title: str,
    unit: str,
    lines: Sequence[tuple[str, pd.Series]],
    fmt: Callable[[float], str],
    ref: tuple[float, str] | None = None,
    band: tuple[pd.Series, pd.Series] | None = None,
    bars: pd.Series | None = None,
    sign: bool = False,
    mark: tuple[date, date, str] | None = None,
) -> Chart:
    """Lines over the union of their dates (one x position per calendar day), y on nice ticks that
    fit every value (and the band's); ``band``: (low, high) of the first line's 95% interval, shaded;
    ``bars``: counts per day drawn as bars in a strip under the plot; ``mark``: (from, to, words), a
    stretch of the first line marked (the maximum drawdown). ``fmt`` formats the legend's
    latest values; the ticks get as many decimals as their step needs."""
    all_days = sorted({d for _, s in lines for d in _days(s)})
    roles = ("this model", "champion")
    if not all_days:
        empty = tuple(Line(label, f"s{i}", (), "n/a", roles[min(i, 1)]) for i, (label, _) in enumerate(lines))
        return Chart(key, title, unit, empty, (), (), None, None, None)
    values = _finite([float(v) for _, s in lines for v in s.to_numpy(np.float64)])
    if band is not None:
        values += _finite([float(v) for s in band for v in s.to_numpy(np.float64)])
    values += [ref[0]] if ref else []
    low, high, ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0))
    height = HEIGHT + (BAR_STRIP if bars is not None else 0)
    frame = _Frame(all_days[0], max((all_days[-1] - all_days[0]).days, 1), low, high, HEIGHT - BOTTOM)
    drawn = tuple(
        Line(label, f"s{i}", _segments(frame, s), fmt(float(s.dropna().iloc[-1])) if s.notna().any() else "n/a",
             roles[min(i, 1)])
        for i, (label, s) in enumerate(lines)
    )  # fmt: skip
    step = max(1, math.ceil(len(all_days) / X_TICKS))
    tick_label = tick_format(ticks, sign)
    return Chart(
        key, title, unit, drawn,
        x_ticks=tuple((frame.x(d), d.isoformat()) for d in all_days[::step]),
        y_ticks=tuple((frame.y(v), tick_label(v)) for v in ticks),
        ref=(frame.y(ref[0]), ref[1]) if ref else None,
        start=all_days[0], end=all_days[-1], height=height,
        band=_band(frame, *band) if band is not None else "",
        bars=_bars(frame, bars, height) if bars is not None else (),
        bars_label=f"bets per day (tallest {int(bars.max())})" if bars is not None and len(bars) else "",
        mark=_mark(frame, lines[0][1], *mark) if mark else None,
    )  # fmt: skip


def _band(frame: _Frame, low: pd.Series, high: pd.Series) -> str:
    """The polygon of a band: along the highs, back along the lows (days where both are known)."""
    known = low.notna() & high.notna()
    days = _days(low[known])
    if len(days) < 2:
        return ""
    upper = [f"{frame.x(d):.1f},{frame.y(v):.1f}" for d, v in zip(days, high[known], strict=True)]
    lower = [f"{frame.x(d):.1f},{frame.y(v):.1f}" for d, v in zip(days, low[known], strict=True)]
    return " ".join(upper + lower[::-1])


def _bars(frame: _Frame, counts: pd.Series, height: int) -> tuple[tuple[float, float, float, float], ...]:
    """One bar per day in the strip under the plot, the tallest filling it."""
    top, bottom = HEIGHT + 4, height - BOTTOM + 4
    tallest = float(counts.max()) if len(counts) else 0.0
    width = max(1.0, min(12.0, (WIDTH - RIGHT - LEFT) / max(frame.span + 1, 1) * 0.7))
    out = []
    for day, count in zip(_days(counts), counts.to_numpy(np.float64), strict=True):
        if tallest > 0 and count > 0:
            h = (bottom - top) * count / tallest
            out.append((frame.x(day) - width / 2, bottom - h, width, h))
    return tuple(out)


def _mark(frame: _Frame, series: pd.Series, start: date, end: date, label: str) -> Mark:
    at = {pd.Timestamp(d).date(): float(v) for d, v in series.items()}
    return Mark(frame.x(start), frame.y(at[start]), frame.x(end), frame.y(at[end]), label)
