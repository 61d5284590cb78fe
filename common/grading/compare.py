"""Champion vs challenger on the same graded player-games: a paired comparison and a verdict.

Pure functions on the paired sample (``queries.PAIRED``, outcome and call codes from
``common/betting.py``), numpy and ``math`` only:

* MAE of each model and the difference (challenger − champion; negative means the
  challenger is closer), with a percentile bootstrap confidence interval of the
  mean paired difference in absolute error (fixed seed: the same data always
  gives the same interval and so the same verdict);
* hit rate and edge-3+ hit rate of each model on its own bets among the shared
  player-games, with their n;
* an exact two-sided sign test on the shared picks where the two models bet
  opposite sides and the result was not a push (exactly one of them won).

The verdict rule is printed beside the verdict (see :func:`decide`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from common.betting import NO_BET, NO_CALL, WON

PROMOTE, KEEP_WATCHING, RETIRE = "promote", "keep watching", "retire"
MIN_GRADED_DAYS = 2
MIN_SHARED = 100
CONFIDENCE = 0.95
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20260301
SIGN_TEST_ALPHA = 0.05
PAIRED_COLUMNS = ("game_date", "err_a", "err_b", "outcome_a", "outcome_b", "call_a", "call_b", "edge3_a", "edge3_b")


@dataclass(frozen=True)
class Side:
    """One model's figures on the shared player-games."""

    model_id: str
    mae: float | None
    hit_rate: float | None
    n_bets: int
    hit_rate_edge_3plus: float | None
    n_edge_3plus: int


@dataclass(frozen=True)
class Comparison:
    """A paired champion-vs-challenger comparison and its verdict."""

    challenger: Side
    champion: Side
    start: date | None
    end: date | None
    graded_days: int
    n_shared: int
    mae_diff: float | None  # challenger − champion
    ci_low: float | None
    ci_high: float | None
    sign_wins: int  # disagreements the challenger won
    sign_n: int
    sign_p: float | None
    verdict: str
    rule: str

    @property
    def sufficient(self) -> bool:
        """Whether the evidence supports promoting the challenger."""
        return self.verdict == PROMOTE

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["start"] = self.start.isoformat() if self.start else None
        out["end"] = self.end.isoformat() if self.end else None
        out["confidence"] = CONFIDENCE
        return out


def bootstrap_ci(diff: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval (``CONFIDENCE``) of the mean of ``diff``, in chunks to bound memory."""
    rng = np.random.default_rng(seed)
    n = len(diff)
    means = np.empty(samples)
    chunk = max(1, min(samples, 4_000_000 // max(n, 1)))
    for begin in range(0, samples, chunk):
        size = min(chunk, samples - begin)
        means[begin : begin + size] = diff[rng.integers(0, n, size=(size, n))].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def sign_test(wins: int, n: int) -> float | None:
    """Exact two-sided binomial (p = 1/2) test of ``wins`` out of ``n``."""
    if n == 0:
        return None
    tail = sum(math.comb(n, i) for i in range(min(wins, n - wins) + 1))
    return min(1.0, 2 * tail / 2**n)


def _side(model_id: str, err: np.ndarray, outcome: np.ndarray, edge3: np.ndarray) -> Side:
    bets = outcome != NO_BET
    big = bets & edge3
    return Side(
        model_id=model_id,
        mae=float(err.mean()) if len(err) else None,
        hit_rate=100.0 * float((outcome[bets] == WON).mean()) if bets.any() else None,
        n_bets=int(bets.sum()),
        hit_rate_edge_3plus=100.0 * float((outcome[big] == WON).mean()) if big.any() else None,
        n_edge_3plus=int(big.sum()),
    )


def compare_pairs(
    pairs: pd.DataFrame, challenger: str, champion: str, start: date | None = None, end: date | None = None
) -> Comparison:
    """Compare on the paired sample (columns of ``queries.PAIRED``; ``_a`` is the challenger)."""
    err_a, err_b = (pairs[c].to_numpy(np.float64) for c in ("err_a", "err_b"))
    out_a, out_b = (pairs[c].to_numpy(np.int64) for c in ("outcome_a", "outcome_b"))
    call_a, call_b = (pairs[c].to_numpy(np.int64) for c in ("call_a", "call_b"))
    e3_a, e3_b = (pairs[c].to_numpy(bool) for c in ("edge3_a", "edge3_b"))
    days = int(pd.to_datetime(pairs["game_date"]).nunique()) if len(pairs) else 0
    diff = err_a - err_b
    mae_diff = float(diff.mean()) if len(diff) else None
    ci = bootstrap_ci(diff) if len(diff) >= 2 else (None, None)
    disagree = (out_a != NO_BET) & (out_b != NO_BET) & (call_a != NO_CALL) & (call_b != NO_CALL) & (call_a != call_b)
    wins, n_sign = int((out_a[disagree] == WON).sum()), int(disagree.sum())
    p = sign_test(wins, n_sign)
    verdict, rule = decide(days, len(diff), ci[0], ci[1], wins, n_sign, p)
    return Comparison(
        challenger=_side(challenger, err_a, out_a, e3_a),
        champion=_side(champion, err_b, out_b, e3_b),
        start=start,
        end=end,
        graded_days=days,
        n_shared=len(diff),
        mae_diff=mae_diff,
        ci_low=ci[0],
        ci_high=ci[1],
        sign_wins=wins,
        sign_n=n_sign,
        sign_p=p,
        verdict=verdict,
        rule=rule,
    )


def could_promote(pairs: pd.DataFrame) -> bool:
    """A cheap necessary condition for a promote verdict, checked before paying for the bootstrap:
    enough days and player-games, and the challenger's MAE below the champion's. (The bootstrap
    means centre on the observed difference, so their upper quantile cannot be below 0 when it is not.)"""
    if len(pairs) < MIN_SHARED or pd.to_datetime(pairs["game_date"]).nunique() < MIN_GRADED_DAYS:
        return False
    return bool((pairs["err_a"].to_numpy(np.float64) - pairs["err_b"].to_numpy(np.float64)).mean() < 0)


def decide(
    days: int, n: int, low: float | None, high: float | None, wins: int, n_sign: int, p: float | None
) -> tuple[str, str]:
    """The verdict and the rule that produced it.

    * fewer than ``MIN_GRADED_DAYS`` graded days or ``MIN_SHARED`` shared
      player-games → keep watching (insufficient evidence);
    * CI of the MAE difference entirely below 0 → promote, unless the sign test
      significantly favours the champion on the picks where they disagree;
    * CI entirely above 0 → retire;
    * otherwise → keep watching.
    """
    level = f"{CONFIDENCE:.0%}"
    if days < MIN_GRADED_DAYS or n < MIN_SHARED or low is None or high is None:
        return KEEP_WATCHING, (
            f"insufficient evidence: {days} graded day(s) and {n} shared player-games; "
            f"needs >= {MIN_GRADED_DAYS} days and >= {MIN_SHARED} player-games"
        )
    interval = f"{level} CI of MAE difference [{low:+.3f}, {high:+.3f}]"
    champion_wins_picks = p is not None and p < SIGN_TEST_ALPHA and wins < n_sign - wins
    if high < 0 and champion_wins_picks:
        return KEEP_WATCHING, (
            f"{interval} is below 0, but the sign test favours the champion "
            f"({n_sign - wins} of {n_sign} disagreements, p = {p:.3g} < {SIGN_TEST_ALPHA})"
        )
    if high < 0:
        return PROMOTE, f"{interval} entirely below 0 over {days} graded days, {n} shared player-games"
    if low > 0:
        return RETIRE, f"{interval} entirely above 0 over {days} graded days: the challenger is worse"
    return KEEP_WATCHING, f"{interval} contains 0: no significant difference yet"
