"""What a family is judged on, and the rule that turns the three metrics' evidence into a verdict.

A family declares one **objective** (``modelctl objective set FAMILY clv --reason …``,
kept in the registry's ``family_objectives`` with an audit event):

* ``mae``: accuracy, the daily mean of ``|err_challenger| - |err_champion|`` (lower is better);
* ``clv``: the market's verdict, the daily difference of the mean no-vig probability CLV per
  bet (``model_performance_daily.clv_prob``: the probability that the bet as placed wins, read
  from the closing market at the bet's line, minus its no-vig probability at the bet; higher is better);
* ``roi``: realised money, the daily difference of units per bet (higher is better).

**Default ``mae`` for a new family**: it is the only metric every graded prediction has, so a
new family gets a verdict from its first graded weeks whatever market data exists; CLV needs
the closing market on both models' bets (captured line snapshots) and ROI needs hundreds of
nights to resolve a few percent (``bench/bench_verdict.py``). A family the team bets should
declare ``clv``: it converges far faster than ROI and measures what the team earns in
expectation. The other two metrics are **guards**: a challenger whose guard CS lies entirely
on the worse side of that metric's margin is not promoted ("not worse by more than a
margin"); a guard never promotes.

Error budget (``ALPHA`` = 5%): only the objective's CS can promote, so a false PROMOTE needs
the objective's CS to miss. The ``k``-th challenger of a champion (registration order among
the models live in the champion's reign, so retrains in a season keep counting) gets
``ALPHA / (k (k + 1))`` — a sequential Bonferroni (alpha-spending over challengers) whose
shares sum to less than ``ALPHA`` however many arrive — and within a challenger each restart
after a contradiction halves the level (``sequential.monitor``). So the chance of any false
PROMOTE across all challengers of a champion, over all nights and restarts, is at most ``ALPHA``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from common.registry.model import DEFAULT_OBJECTIVE, OBJECTIVES, check_objective

__all__ = ["DEFAULT_OBJECTIVE", "OBJECTIVES", "check_objective"]  # re-exported: the verdict's names

ALPHA = 0.05  # P(any false PROMOTE, any challenger of a champion, any night) <= ALPHA
PROMOTE, KEEP_WATCHING, RETIRE = "promote", "keep watching", "retire"
VERDICTS = (KEEP_WATCHING, PROMOTE, RETIRE)  # the codes of verdict_codes


@dataclass(frozen=True)
class Metric:
    """One metric a verdict can stand on."""

    key: str  # "mae" | "clv" | "roi"
    label: str  # as printed
    better: int  # +1 when a larger challenger − champion difference is better, -1 when smaller
    unit: str
    floor: float  # smallest believable daily sd of the difference (the variance floor, per night)
    good: str  # the word for a challenger better on it ("better MAE", "more units")
    bad: str


METRICS: dict[str, Metric] = {
    "mae": Metric("mae", "MAE", -1, "points", 0.05, "better MAE", "worse MAE"),
    "clv": Metric("clv", "CLV", +1, "no-vig probability per bet", 0.005, "better CLV", "worse CLV"),
    "roi": Metric("roi", "ROI", +1, "units per bet", 0.05, "more units", "fewer units"),
}
if tuple(METRICS) != OBJECTIVES:  # the registry stores the keys; one list, checked at import
    raise ImportError(f"objective metrics {tuple(METRICS)} differ from the registry's {OBJECTIVES}")


def challenger_share(rank: int) -> float:
    """The ``rank``-th challenger's share of ``ALPHA``: ``1 / (rank (rank + 1))`` (1/2, 1/6, 1/12 …)."""
    if rank < 1:
        raise ValueError(f"a challenger's rank starts at 1, got {rank}")
    return 1.0 / (rank * (rank + 1))


def _gain(metric: str, low: Any, high: Any) -> tuple[np.ndarray, np.ndarray]:
    """CS bounds on the "challenger better by" scale (positive = better), lowest first."""
    sign = METRICS[metric].better
    lo, hi = np.asarray(low, dtype=np.float64) * sign, np.asarray(high, dtype=np.float64) * sign
    return (lo, hi) if sign > 0 else (hi, lo)


def verdict_codes(
    bounds: Mapping[str, tuple[Any, Any]], objective: str, margins: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The rule on CS bounds (scalars or arrays, ±inf while unbounded), per metric key: an index into
    ``VERDICTS``, and whether a guard blocked a promotion the objective alone would have made.

    PROMOTE: the objective's CS lies entirely beyond its margin on the better side and no guard's
    CS lies entirely beyond its margin on the worse side. RETIRE: the objective's CS lies entirely
    on the worse side of 0, or a guard shows harm while the objective is not better. Else KEEP WATCHING.
    """
    low, high = _gain(objective, *bounds[objective])
    better, worse = low > margins[objective], high < 0
    harmed = np.zeros(np.broadcast(low, high).shape, dtype=bool)
    for key, (g_low, g_high) in bounds.items():
        if key != objective:
            harmed = harmed | (_gain(key, g_low, g_high)[1] < -margins[key])
    promote, retire = better & ~harmed, worse | (harmed & ~better)
    code = np.where(promote, VERDICTS.index(PROMOTE), np.where(retire, VERDICTS.index(RETIRE), 0))
    return code, better & harmed


def disagreement(estimates: Mapping[str, float | None]) -> str | None:
    """One line when the metrics' point estimates point different ways (better MAE, fewer units)."""
    said = {k: METRICS[k].better * v for k, v in estimates.items() if v is not None and v != 0}
    good = [k for k, v in said.items() if v > 0]
    bad = [k for k, v in said.items() if v < 0]
    if not good or not bad:
        return None

    def words(keys: list[str], attr: str) -> str:
        return " and ".join(f"{getattr(METRICS[k], attr)} ({estimates[k]:+.3f} {METRICS[k].unit})" for k in keys)

    has = f"{words(good, 'good')} but {words(bad, 'bad')}"
    return f"the metrics disagree: the challenger has {has} (mean daily differences)"
