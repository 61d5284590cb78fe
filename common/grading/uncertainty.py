"""The one home of intervals: every 95% interval a user reads (performance, compare, the registry).

* **Hit rate**: a Wilson score interval on hits out of bets (``n`` bets), and whether it lies
  entirely above the break-even hit rate of the prices bet. Wilson rather than the normal
  approximation because it stays inside [0, 1] and keeps its coverage near 50% with a few dozen bets.
* **ROI, units and CLV** (both kinds): a cluster-robust interval by date for a ratio of sums.
  The bets of one night share its conditions (one shock moves most of them), so bets are not
  independent but dates roughly are. For ``R = sum(y_d) / sum(n_d)`` over dates ``d`` (units and bets,
  or CLV sums and CLV counts), the linearised (delta-method) variance with the CR1 small-sample
  factor is ``G/(G-1) * sum((y_d - R n_d)^2) / (sum n_d)^2`` over the ``G`` dates, and the interval
  is ``R ± t(0.975, G-1) * sqrt(var)`` — Student's t with G-1 degrees of freedom, the usual
  correction for few clusters (Cameron & Miller 2015, "A practitioner's guide to cluster-robust
  inference"). Units are ``n_bets`` times the ROI interval (conditional on the bets placed).

  Chosen over a date-block bootstrap because it is a closed form of the daily rows grading already
  stores (sums and counts per date): no row-level data, no random seed, the same numbers in
  ``performance``, ``compare`` and the registry's columns on every engine. With one date, or no
  spread at all to estimate from, the interval is unknown (``None``), never zero width by default.

Unknown figures are ``None``; renderers print them as unknown, never as zero.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

LEVEL = 0.95


@functools.cache
def _quantile(df: int | None = None) -> float:
    """The two-sided ``LEVEL`` quantile of the normal (``df`` None) or Student's t distribution.

    The special functions ``scipy.stats`` itself calls for these (``norm.ppf`` is ``ndtri``,
    ``t.ppf`` is ``stdtrit``: the same values, tests/test_uncertainty.py), imported on first use:
    ``scipy.special`` costs about 0.1 s to import, ``scipy.stats`` 0.6 s more, paid by every
    ``grade``, ``performance`` and ``compare``; the predict path imports grading (the picks
    alert's record) without ever computing an interval.
    """
    from scipy import special

    q = 0.5 + LEVEL / 2
    return float(special.ndtri(q) if df is None else special.stdtrit(df, q))


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval; ``low``/``high`` None when it cannot be estimated."""

    estimate: float | None
    low: float | None
    high: float | None

    def scaled(self, factor: float) -> Interval:
        def s(v: float | None) -> float | None:
            return None if v is None else v * factor

        return Interval(s(self.estimate), s(self.low), s(self.high))


UNKNOWN = Interval(None, None, None)


def wilson(hits: int, n: int) -> Interval:
    """The hit rate ``hits / n`` (a fraction) with its 95% Wilson score interval (unknown for n = 0)."""
    if n <= 0:
        return UNKNOWN
    p = hits / n
    z = _quantile()
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n * n))
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def above(interval: Interval, threshold: float | None) -> bool | None:
    """Whether the whole interval lies above ``threshold`` (None when either is unknown)."""
    if interval.low is None or threshold is None or math.isnan(threshold):
        return None
    return interval.low > threshold


def clustered_ratio(sums: Any, counts: Any) -> Interval:
    """``sum(sums) / sum(counts)`` with its 95% cluster-robust interval, one cluster per element
    (a date): see the module docstring. Clusters with a zero count and a NaN sum are left out; fewer
    than two dates, or dates that all sit at the ratio (no spread), give an unknown interval."""
    y, n = np.asarray(sums, dtype=np.float64), np.asarray(counts, dtype=np.float64)
    keep = (n > 0) & ~np.isnan(y)
    y, n = y[keep], n[keep]
    total = float(n.sum())
    if total <= 0:
        return UNKNOWN
    ratio = float(y.sum()) / total
    clusters = len(n)
    if clusters < 2:
        return Interval(ratio, None, None)
    residual = y - ratio * n
    if not (np.abs(residual) > 1e-12 * np.maximum(np.abs(y), n)).any():  # every date at the ratio: no spread
        return Interval(ratio, None, None)
    var = clusters / (clusters - 1) * float(np.sum(residual**2)) / total**2
    half = _quantile(clusters - 1) * math.sqrt(var)
    return Interval(ratio, ratio - half, ratio + half)


def clustered_mean(values: Any) -> Interval:
    """The mean of one value per date (NaN left out) with its 95% interval: each date weighs the same."""
    v = np.asarray(values, dtype=np.float64)
    return clustered_ratio(v, np.where(np.isnan(v), 0.0, 1.0))


@dataclass(frozen=True, kw_only=True)
class IntervalFields:
    """The counts and 95% intervals every figure a user reads carries beside it (``performance``'s
    ``Figures``, ``compare``'s ``Side``): None is unknown."""

    clv_prob: float | None = None  # mean win probability from the close at the bet's line minus at the bet
    break_even: float | None = None  # percent: the hit rate the prices bet need
    above_break_even: bool | None = None  # the hit-rate interval lies entirely above break-even
    n_dates: int = 0  # dates with bets: the clusters of the ROI, units and CLV intervals
    hit_rate_low: float | None = None  # Wilson, percent
    hit_rate_high: float | None = None
    roi_low: float | None = None  # cluster-robust by date
    roi_high: float | None = None
    units_low: float | None = None
    units_high: float | None = None
    clv_low: float | None = None
    clv_high: float | None = None
    clv_prob_low: float | None = None
    clv_prob_high: float | None = None


@dataclass(frozen=True)
class MoneyFigures:
    """Hit rate, ROI, units and CLV of one model over a window, each with its 95% interval."""

    hit_rate: Interval  # percent
    n_bets: int
    break_even: float | None  # percent: the hit rate the prices bet need
    above_break_even: bool | None  # the hit-rate interval lies entirely above break-even
    roi: Interval  # units per bet
    units: Interval
    n_dates: int  # dates with at least one bet: the clusters of the ROI interval
    clv: Interval  # points toward the pick
    clv_prob: Interval  # no-vig probability
    n_clv: int

    def flat(self) -> dict[str, Any]:
        """The :class:`IntervalFields` of these figures, as keywords."""
        out: dict[str, Any] = {
            "n_dates": self.n_dates,
            "break_even": self.break_even,
            "above_break_even": self.above_break_even,
            "clv_prob": self.clv_prob.estimate,
        }
        for name in ("hit_rate", "roi", "units", "clv", "clv_prob"):
            iv: Interval = getattr(self, name)
            out[f"{name}_low"], out[f"{name}_high"] = iv.low, iv.high
        return out


def money(
    hits: Any, bets: Any, units: Any, break_even_sum: Any, clv: tuple[Any, Any], clv_prob: tuple[Any, Any]
) -> MoneyFigures:
    """Every money figure with its interval from per-date arrays (one element per date): hits,
    bets, units won, the sum of the bets' break-even probabilities (NaN: unknown), and the CLV sums
    with their counts (points, probability)."""
    b = np.asarray(bets, dtype=np.float64)
    n_bets, n_clv_total = int(b.sum()), int(np.asarray(clv[1], dtype=np.float64).sum())
    rate = wilson(int(np.asarray(hits, dtype=np.float64).sum()), n_bets).scaled(100.0)
    be_sum = np.asarray(break_even_sum, dtype=np.float64)
    be_known = ~np.isnan(be_sum) & (b > 0)
    be = 100.0 * float(be_sum[be_known].sum() / b[be_known].sum()) if be_known.any() else None
    roi = clustered_ratio(units, b)
    return MoneyFigures(
        hit_rate=rate,
        n_bets=n_bets,
        break_even=be,
        above_break_even=above(rate, be),
        roi=roi,
        units=roi.scaled(n_bets) if n_bets else UNKNOWN,
        n_dates=int((b > 0).sum()),
        clv=clustered_ratio(*clv),
        clv_prob=clustered_ratio(*clv_prob),
        n_clv=n_clv_total,
    )
