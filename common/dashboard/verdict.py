"""The verdict's evidence drawn: each metric's mean daily difference (challenger − champion) with its
confidence sequence against the metric's margin, on a "challenger better →" axis.

Nothing is re-derived: the figures are the ``Comparison`` that ``compare`` and ``promote`` read
(``common/grading/compare.py``), its objective, margins and disagreement note; this module only
places them on a small SVG (one row per metric, the objective first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from common.grading.compare import Comparison, interval
from common.grading.objective import METRICS

W, H, PAD = 320, 36, 12


@dataclass(frozen=True)
class Difference:
    """One metric's row: words and numbers for the table, geometry for its strip."""

    key: str
    label: str
    unit: str
    role: str  # "objective" or "guard"
    estimate: str
    cs: str  # "[low, high]" as compare prints it
    margin: str
    days: int
    reading: str  # where the CS lies against the margin, in words
    x_zero: float
    x_margin: float  # the better side's margin
    x_harm: float  # the worse side's margin
    x_low: float  # the CS on the better-is-right axis (an open side runs to the edge)
    x_high: float
    open_low: bool
    open_high: bool
    x_estimate: float | None
    width: int = W
    height: int = H


def _reading(low: float, high: float, margin: float, objective: bool) -> str:
    if low > margin:
        return "better by more than the margin" + (" (promotes)" if objective else "")
    if high < -margin and not objective:
        return "worse by more than the margin (harm)"
    if high < 0:
        return "worse" + (" (retires)" if objective else "")
    if not (math.isfinite(low) and math.isfinite(high)):
        return "not yet bounded"
    return "undecided"


def differences(c: Comparison) -> tuple[Difference, ...]:
    """Every metric's difference with its CS against its margin, the objective first."""
    keys = [c.objective] + [k for k in ("mae", "clv", "roi") if k != c.objective]
    out = []
    for key in keys:
        metric, e, margin = METRICS[key], c.evidence(key), c.margins.margins[key]
        sign = metric.better
        raw = (-math.inf if e.low is None else e.low, math.inf if e.high is None else e.high)
        low, high = sorted(v * sign for v in raw)  # challenger-better-by scale
        est = None if e.estimate is None else e.estimate * sign
        finite = [abs(v) for v in (low, high, est) if v is not None and math.isfinite(v)]
        reach = max([*finite, 2.0 * margin, 1e-9]) * 1.1

        def x(v: float, reach: float = reach) -> float:
            return W / 2 + (W / 2 - PAD) * max(-1.0, min(1.0, v / reach))

        out.append(Difference(
            key=key, label=metric.label, unit=metric.unit, role="objective" if key == c.objective else "guard",
            estimate="–" if e.estimate is None else f"{e.estimate:+.4f}", cs=interval(e), margin=f"{margin:g}",
            days=e.days, reading=_reading(low, high, margin, key == c.objective),
            x_zero=x(0.0), x_margin=x(margin), x_harm=x(-margin), x_low=x(low), x_high=x(high),
            open_low=not math.isfinite(low), open_high=not math.isfinite(high),
            x_estimate=None if est is None else x(est),
        ))  # fmt: skip
    return tuple(out)
