"""Champion vs challenger on the same graded player-games: a verdict that stays valid when checked nightly.

The evidence is one paired difference per graded date (challenger − champion), not
one per player-game: the player-games of a date share its conditions, so a night that
suits one model's features moves most of its errors at once.

* **MAE**: the date's mean of ``|err_challenger| - |err_champion|`` over the shared
  player-games (negative: the challenger is closer);
* **ROI**: the date's units per bet of the challenger minus the champion's, on dates
  where both bet (units at ``BET_PRICE``, ``common/betting.py``; positive: the
  challenger earns more).

Each series gets an always-valid confidence sequence (Lai's t-mixture CS,
``sequential.py``, after Howard, Ramdas, McAuliffe & Sekhon 2021) at level
``1 - ALPHA/2`` — Bonferroni across the two, so both hold together with probability
``1 - ALPHA`` at every night at once — and the verdict reads the running
intersection since the pair's first shared out-of-sample date. Practical margins
(``PROMOTION_MARGIN_MAE``, ``PROMOTION_MARGIN_ROI``) say how much better is worth a
promotion; the verdict names the metric that drove it (:func:`verdict_codes`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from common.betting import DEFAULT_BET_PRICE, NO_BET, WON, units, win_payout
from common.grading.sequential import PRIOR_PRECISION, confidence_sequence, first_bounded_day, latest
from common.grading.uncertainty import IntervalFields, clustered_mean, money
from common.settings import Settings

PROMOTE, KEEP_WATCHING, RETIRE = "promote", "keep watching", "retire"
VERDICTS = (KEEP_WATCHING, PROMOTE, RETIRE)  # the codes of verdict_codes
ALPHA = 0.05  # overall: P(any false claim on any night, MAE or ROI) <= ALPHA
PAIRED_COLUMNS = (
    "game_date", "err_a", "err_b", "outcome_a", "outcome_b", "call_a", "call_b", "edge3_a", "edge3_b", "clv_a", "clv_b",
    "clv_prob_a", "clv_prob_b", "units_a", "units_b", "break_even_a", "break_even_b",
)  # fmt: skip
#: How compare defines ROI, the one definition of its table: per date, units over bets; then the mean
#: over the shared dates on which both models bet, each date weighing the same. The challenger's minus
#: the champion's is exactly the mean daily difference the verdict's sequence is built on, so the
#: sides and the difference can never point opposite ways (a pooled ROI, units over all bets, can:
#: it weighs busy nights more). Units stay totals over every shared bet.
ROI_DEFINITION = "mean over shared dates both bet of each date's units per bet (each date weighs the same)"


@dataclass(frozen=True)
class VerdictRule:
    """The margins a challenger must clear and the price its bets are settled at (from settings)."""

    margin_mae: float = Settings.promotion_margin_mae
    margin_roi: float = Settings.promotion_margin_roi
    bet_price: float = DEFAULT_BET_PRICE

    @classmethod
    def from_settings(cls, settings: Settings) -> VerdictRule:
        return cls(settings.promotion_margin_mae, settings.promotion_margin_roi, settings.bet_price)

    @property
    def payout(self) -> float:
        return win_payout(self.bet_price)

    def describe(self) -> str:
        """The rule, printed beside every verdict."""
        each = 1 - ALPHA / 2
        return (
            f"PROMOTE when the challenger is better by at least {self.margin_mae:g} points of MAE "
            f"(CS entirely below -{self.margin_mae:g}) or by at least {self.margin_roi:g} units per bet of ROI "
            f"at {self.bet_price:+g} (CS entirely above +{self.margin_roi:g}), and worse on neither (a CS entirely "
            "on the wrong side of 0); RETIRE when worse on one and better on neither; else KEEP WATCHING. "
            f"CS: Lai t-mixture confidence sequences on daily paired differences, {each:.1%} each "
            f"(Bonferroni, {1 - ALPHA:.0%} together), running intersection: valid however often it is checked"
        )


@dataclass(frozen=True)
class Evidence:
    """One metric's sequential evidence: the mean daily difference and its confidence sequence."""

    metric: str  # "MAE" or "ROI"
    days: int  # dates in the sequence
    estimate: float | None  # mean daily difference, challenger − champion
    low: float | None  # running-intersection bounds; None while unbounded
    high: float | None


@dataclass(frozen=True)
class Side(IntervalFields):
    """One model's figures on the shared player-games, money figures with their 95% intervals
    (``uncertainty.py``: Wilson for the hit rate, clustered by date for the rest)."""

    model_id: str
    mae: float | None
    hit_rate: float | None
    n_bets: int
    units: float  # each bet at its own price
    roi: float | None  # ROI_DEFINITION: the mean of daily units per bet over the dates both bet
    hit_rate_edge_3plus: float | None
    n_edge_3plus: int
    clv: float | None  # mean closing line minus the bet line, toward the pick, points
    n_clv: int


@dataclass(frozen=True)
class Comparison:
    """A paired champion-vs-challenger comparison and its verdict."""

    challenger: Side
    champion: Side
    start: date | None
    end: date | None
    graded_days: int
    n_shared: int
    mae_diff: float | None  # challenger − champion over all shared player-games
    mae: Evidence
    roi: Evidence
    clv: Evidence  # shown beside the verdict, not part of it
    verdict: str
    driver: str | None  # the metric(s) whose CS decided a promote or retire verdict
    reason: str  # what the evidence says, in words
    rule: str  # the rule, with its margins
    margins: VerdictRule

    @property
    def sufficient(self) -> bool:
        """Whether the evidence supports promoting the challenger."""
        return self.verdict == PROMOTE

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["start"] = self.start.isoformat() if self.start else None
        out["end"] = self.end.isoformat() if self.end else None
        out["confidence"] = 1 - ALPHA
        return out


def daily_differences(
    day: np.ndarray, n_days: int, err: tuple[Any, Any], won: tuple[Any, Any], bet: tuple[Any, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Per date ``0..n_days-1``: the mean paired MAE difference and the ROI difference (NaN where
    a date has no shared player-game, or, for ROI, no bet of either model).

    ``day`` indexes each shared player-game's date; ``err``, ``won`` (units won per pick) and
    ``bet`` (1 per bet) are (challenger, champion) arrays over the player-games.
    """
    count = np.bincount(day, minlength=n_days).astype(np.float64)

    def per_day(values: Any) -> np.ndarray:
        return np.bincount(day, weights=np.asarray(values, dtype=np.float64), minlength=n_days)

    bets = [per_day(b) for b in bet]
    with np.errstate(invalid="ignore", divide="ignore"):
        mae = np.where(count > 0, per_day(np.asarray(err[0]) - np.asarray(err[1])) / count, np.nan)
        roi_a, roi_b = (per_day(u) / b for u, b in zip(won, bets, strict=True))
    roi = np.where((bets[0] > 0) & (bets[1] > 0), roi_a - roi_b, np.nan)
    return mae, roi


def verdict_codes(
    mae: tuple[Any, Any], roi: tuple[Any, Any], rule: VerdictRule
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rule on CS bounds (scalars or arrays, ±inf while unbounded): an index into ``VERDICTS``,
    and whether MAE / ROI drove it (better for a promote, worse for a retire).

    False promotions: promoting needs a CS that excludes every value within the margin, so if
    the challenger is not better by the margin on either metric, a promotion ever happening
    needs a CS that missed its mean on some night: probability <= ALPHA/2 + ALPHA/2.
    """
    mae_low, mae_high = np.asarray(mae[0], dtype=np.float64), np.asarray(mae[1], dtype=np.float64)
    roi_low, roi_high = np.asarray(roi[0], dtype=np.float64), np.asarray(roi[1], dtype=np.float64)
    broken = (mae_low > mae_high) | (roi_low > roi_high)  # an empty intersection: the model of the data failed
    mae_better, mae_worse = mae_high < -rule.margin_mae, mae_low > 0
    roi_better, roi_worse = roi_low > rule.margin_roi, roi_high < 0
    better, worse = (mae_better | roi_better) & ~broken, (mae_worse | roi_worse) & ~broken
    promote, retire = better & ~worse, worse & ~better
    code = np.where(promote, VERDICTS.index(PROMOTE), np.where(retire, VERDICTS.index(RETIRE), 0))
    return code, np.where(promote, mae_better, retire & mae_worse), np.where(promote, roi_better, retire & roi_worse)


def _side(model_id: str, pairs: pd.DataFrame, suffix: str, won: np.ndarray, day: np.ndarray, both: np.ndarray) -> Side:
    """One side's figures; ``won``: units per pick; ``day``: each pick's date index; ``both``: per
    date, whether both models bet (the dates of the ROI)."""
    err = pairs[f"err_{suffix}"].to_numpy(np.float64)
    outcome = pairs[f"outcome_{suffix}"].to_numpy(np.int64)
    big = (outcome != NO_BET) & pairs[f"edge3_{suffix}"].to_numpy(bool)
    clv, clv_prob = _column(pairs, f"clv_{suffix}"), _column(pairs, f"clv_prob_{suffix}")
    bets, n_days = outcome != NO_BET, len(both)

    def per_day(values: np.ndarray) -> np.ndarray:
        return np.bincount(day, weights=np.nan_to_num(values.astype(np.float64)), minlength=n_days)

    be = _column(pairs, f"break_even_{suffix}")
    be_day = np.where(per_day(bets & np.isnan(be)) > 0, np.nan, per_day(np.where(bets, be, 0.0)))
    m = money(per_day(outcome == WON), per_day(bets), per_day(won), be_day, (per_day(clv), per_day(~np.isnan(clv))),
              (per_day(clv_prob), per_day(~np.isnan(clv_prob))))  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        roi = clustered_mean(np.where(both, per_day(won) / per_day(bets), np.nan))
    figures = {**m.flat(), "roi_low": roi.low, "roi_high": roi.high, "n_dates": int(both.sum())}
    return Side(
        model_id=model_id,
        mae=float(err.mean()) if len(err) else None,
        hit_rate=m.hit_rate.estimate,
        n_bets=m.n_bets,
        units=float(won.sum()),
        roi=roi.estimate,
        hit_rate_edge_3plus=100.0 * float((outcome[big] == WON).mean()) if big.any() else None,
        n_edge_3plus=int(big.sum()),
        clv=m.clv.estimate,
        n_clv=m.n_clv,
        **figures,
    )


def _won(pairs: pd.DataFrame, suffix: str, payout: float) -> np.ndarray:
    """Units per pick at its own price (``units_*``); at ``payout`` for a bet graded before 017."""
    settled, outcome = _column(pairs, f"units_{suffix}"), pairs[f"outcome_{suffix}"].to_numpy(np.int64)
    return np.where(np.isnan(settled), units(outcome, payout), settled)


def _evidence(metric: str, series: np.ndarray) -> Evidence:
    seen = series[~np.isnan(series)]
    low, high = latest(confidence_sequence(series, ALPHA / 2)) if len(series) else (None, None)
    return Evidence(metric, len(seen), float(seen.mean()) if len(seen) else None, low, high)


def compare_pairs(
    pairs: pd.DataFrame,
    challenger: str,
    champion: str,
    start: date | None = None,
    end: date | None = None,
    rule: VerdictRule | None = None,
) -> Comparison:
    """Compare on the paired sample (columns of ``queries.PAIRED``; ``_a`` is the challenger), its
    dates taken in order as the monitoring sequence."""
    rule = rule or VerdictRule()
    err_a, err_b = (pairs[c].to_numpy(np.float64) for c in ("err_a", "err_b"))
    out_a, out_b = (pairs[c].to_numpy(np.int64) for c in ("outcome_a", "outcome_b"))
    won_a, won_b = _won(pairs, "a", rule.payout), _won(pairs, "b", rule.payout)
    day, dates = pd.factorize(pd.to_datetime(pairs["game_date"]), sort=True)
    mae_days, roi_days = daily_differences(
        day, len(dates), (err_a, err_b), (won_a, won_b), (out_a != NO_BET, out_b != NO_BET)
    )
    clv_a, clv_b = (_column(pairs, c) for c in ("clv_a", "clv_b"))
    clv_days = daily_differences(day, len(dates), (err_a, err_b), (np.nan_to_num(clv_a), np.nan_to_num(clv_b)),
                                 (~np.isnan(clv_a), ~np.isnan(clv_b)))[1]  # fmt: skip
    mae, roi, clv = _evidence("MAE", mae_days), _evidence("ROI", roi_days), _evidence("CLV", clv_days)
    verdict, driver, reason = decide(mae, roi, rule)
    return Comparison(
        challenger=_side(challenger, pairs, "a", won_a, day, ~np.isnan(roi_days)),
        champion=_side(champion, pairs, "b", won_b, day, ~np.isnan(roi_days)),
        start=start,
        end=end,
        graded_days=len(dates),
        n_shared=len(pairs),
        mae_diff=float((err_a - err_b).mean()) if len(pairs) else None,
        mae=mae,
        roi=roi,
        clv=clv,
        verdict=verdict,
        driver=driver,
        reason=reason,
        rule=rule.describe(),
        margins=rule,
    )


def _column(pairs: pd.DataFrame, name: str) -> np.ndarray:
    """A float column, NaN for NULL (all NaN when the frame lacks it)."""
    if name not in pairs.columns:
        return np.full(len(pairs), np.nan)
    return pd.to_numeric(pairs[name], errors="coerce").to_numpy(np.float64)


def interval(e: Evidence) -> str:
    """``[-0.210, -0.064]`` (an open side as -inf / +inf)."""
    low = "-inf" if e.low is None else f"{e.low:+.3f}"
    high = "+inf" if e.high is None else f"{e.high:+.3f}"
    return f"[{low}, {high}]"


def decide(mae: Evidence, roi: Evidence, rule: VerdictRule) -> tuple[str, str | None, str]:
    """The verdict, the metric(s) that drove it, and the evidence in words."""
    bounds = [(-np.inf if e.low is None else e.low, np.inf if e.high is None else e.high) for e in (mae, roi)]
    code, by_mae, by_roi = (v.item() for v in verdict_codes(bounds[0], bounds[1], rule))
    verdict = VERDICTS[code]
    driver = " and ".join(m for m, flag in (("MAE", by_mae), ("ROI", by_roi)) if flag) or None
    cs = f"MAE difference CS {interval(mae)} over {mae.days} days, "
    cs += f"ROI difference CS {interval(roi)} over {roi.days} days"
    need = first_bounded_day(ALPHA / 2, PRIOR_PRECISION)
    if mae.high is None and roi.high is None:
        return (
            verdict,
            driver,
            (
                f"insufficient evidence: {mae.days} graded day(s) shared; the confidence sequences "
                f"exclude nothing before {need} days"
            ),
        )
    if verdict == PROMOTE:
        return verdict, driver, f"{driver} drove it: the challenger is better by more than the margin ({cs})"
    if verdict == RETIRE:
        return verdict, driver, f"{driver} drove it: the challenger is worse and better on neither metric ({cs})"
    return verdict, driver, f"neither metric is better by its margin without the other being worse ({cs})"
