"""Champion vs challenger on the same graded player-games: a verdict on the family's objective.

The evidence is one paired difference per graded date (challenger − champion), not
one per player-game: the player-games of a date share its conditions, so a night that
suits one model's features moves most of its errors at once.

* **MAE**: the date's mean of ``|err_challenger| - |err_champion|`` over the shared
  player-games (negative: the challenger is closer);
* **ROI**: the date's units per bet of the challenger minus the champion's, on dates
  where both bet (each bet settled at its own line and price, ``BET_PRICE`` only where a
  row has none, ``common/betting.py``; positive: the challenger earns more);
* **CLV**: the date's mean no-vig probability CLV per bet of the challenger minus the
  champion's (``model_performance_daily.clv_prob``, on shared dates where both have it;
  positive: the market moved toward the challenger's picks more).

Each series is monitored with ``sequential.monitor`` (Lai's t-mixture CS on 5-night block
means, a variance floor, a restart after a contradiction) at the challenger's share of the
error budget (``objective.py``), from the pair's first shared out-of-sample date. The verdict
decides on the family's declared objective with the other two metrics as guards, names the
metric that drove it, and says in one line where the metrics disagree. ``--days N`` reads a
fixed window once: its verdict holds for that window, not under nightly checking.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from common.betting import DEFAULT_BET_PRICE, NO_BET, WON, hit_rate, ratios, rois, units, win_payout
from common.grading.objective import (
    ALPHA,
    DEFAULT_OBJECTIVE,
    KEEP_WATCHING,
    METRICS,
    PROMOTE,
    RETIRE,
    VERDICTS,
    challenger_share,
    check_objective,
    disagreement,
    verdict_codes,
)
from common.grading.sequential import BLOCK_NIGHTS, PRIOR_PRECISION, change_point, first_bounded_day, monitor
from common.grading.uncertainty import IntervalFields, clustered_mean, money
from common.settings import Settings

__all__ = ["ALPHA", "KEEP_WATCHING", "PROMOTE", "RETIRE", "VERDICTS", "Comparison", "Evidence", "VerdictRule",
           "compare_pairs", "daily_differences", "interval"]  # fmt: skip
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
    margin_clv: float = Settings.promotion_margin_clv

    @classmethod
    def from_settings(cls, settings: Settings) -> VerdictRule:
        return cls(settings.promotion_margin_mae, settings.promotion_margin_roi, settings.bet_price,
                   settings.promotion_margin_clv)  # fmt: skip

    @property
    def payout(self) -> float:
        return win_payout(self.bet_price)

    @property
    def margins(self) -> dict[str, float]:
        return {"mae": self.margin_mae, "clv": self.margin_clv, "roi": self.margin_roi}

    def describe(self, objective: str = DEFAULT_OBJECTIVE, alpha: float = ALPHA / 2, window: int | None = None) -> str:
        """The rule, printed beside every verdict."""
        main = METRICS[objective]
        guards = ", ".join(f"{METRICS[k].label} {m:g}" for k, m in self.margins.items() if k != objective)
        validity = (
            f"read once on a fixed window of {window} days: valid for that one window, NOT when checked nightly "
            "(the nightly advice and promote read the whole sequence)"
            if window
            else "valid however often it is checked"
        )
        return (
            f"objective {objective}: PROMOTE when the challenger's {main.label} is better by at least "
            f"{self.margins[objective]:g} {main.unit} (its CS entirely beyond the margin) and no guard's CS shows "
            f"it worse by more than the guard's margin ({guards}; ROI: each bet at its own price, "
            f"{self.bet_price:+g} where it has none); RETIRE when the "
            f"{main.label} CS is entirely worse, or a guard shows harm and the objective is not better; else KEEP "
            f"WATCHING. CS: Lai t-mixture confidence sequences on {BLOCK_NIGHTS}-night block means of the daily "
            "differences (batch means, variance floor), restarted after a contradiction at half the level; this "
            f"challenger's level {alpha:.3g} of the champion's {ALPHA:.0%} budget (alpha-spending over "
            f"challengers); {validity}"
        )


@dataclass(frozen=True)
class Evidence:
    """One metric's sequential evidence: the mean daily difference and its confidence sequence."""

    metric: str  # "MAE", "ROI" or "CLV"
    days: int  # dates with an observation in the current segment
    estimate: float | None  # mean daily difference over the current segment, challenger − champion
    low: float | None  # the current segment's latest CS (sequential.monitor); None while unbounded
    high: float | None
    since: date | None = None  # the first date of the current segment (later than start after a restart)
    changed: date | None = None  # the last restart's estimated change: "the difference changed around" it
    detected: date | None = None  # the night that restart's running intersection came out empty
    alpha: float = ALPHA / 2  # the current segment's level


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
    clv: Evidence  # no-vig probability CLV per bet
    verdict: str
    driver: str | None  # the metric whose CS decided a promote or retire verdict
    reason: str  # what the evidence says, in words
    rule: str  # the rule, with its margins
    margins: VerdictRule
    objective: str = DEFAULT_OBJECTIVE  # the challenger's family's declared objective
    note: str | None = None  # one line where the metrics disagree
    window: int | None = None  # a fixed window of days read once (compare --days), None for the sequence

    @property
    def sufficient(self) -> bool:
        """Whether the evidence supports promoting the challenger (never from a fixed window)."""
        return self.verdict == PROMOTE and self.window is None

    def evidence(self, key: str) -> Evidence:
        return {"mae": self.mae, "clv": self.clv, "roi": self.roi}[key]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("start", "end"):
            out[key] = out[key].isoformat() if out[key] else None
        for key in ("mae", "roi", "clv"):
            for field in ("since", "changed", "detected"):
                value = out[key][field]
                out[key][field] = value.isoformat() if value else None
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
    mae = ratios(per_day(np.asarray(err[0]) - np.asarray(err[1])), count)
    roi_a, roi_b = (rois(per_day(u), b) for u, b in zip(won, bets, strict=True))
    roi = roi_a - roi_b  # NaN unless both bet that date
    return mae, roi


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
    roi = clustered_mean(np.where(both, rois(per_day(won), per_day(bets)), np.nan))
    figures = {**m.flat(), "roi_low": roi.low, "roi_high": roi.high, "n_dates": int(both.sum())}
    return Side(
        model_id=model_id,
        mae=float(err.mean()) if len(err) else None,
        hit_rate=m.hit_rate.estimate,
        n_bets=m.n_bets,
        units=float(won.sum()),
        roi=roi.estimate,
        hit_rate_edge_3plus=hit_rate(int((outcome[big] == WON).sum()), int(big.sum())),
        n_edge_3plus=int(big.sum()),
        clv=m.clv.estimate,
        n_clv=m.n_clv,
        **figures,
    )


def _won(pairs: pd.DataFrame, suffix: str, payout: float) -> np.ndarray:
    """Units per pick at its own price (``units_*``); at ``payout`` for a bet graded before 017."""
    settled, outcome = _column(pairs, f"units_{suffix}"), pairs[f"outcome_{suffix}"].to_numpy(np.int64)
    return np.where(np.isnan(settled), units(outcome, payout), settled)


def sequential_evidence(key: str, series: np.ndarray, dates: Any, alpha: float) -> Evidence:
    """``key``'s monitored evidence on its daily series (NaN: no observation that date)."""
    metric = METRICS[key]
    if not len(series):
        return Evidence(metric.label, 0, None, None, None, alpha=alpha)
    seq = monitor(series, alpha, metric.floor / np.sqrt(BLOCK_NIGHTS))
    start, segment = int(seq.start[-1]), int(seq.segment[-1])
    current = series[start:]
    seen = current[~np.isnan(current)]
    low, high = float(seq.low[-1]), float(seq.high[-1])
    hits = np.flatnonzero(seq.contradicted)
    changed = detected = None
    if len(hits):
        before = 0 if len(hits) < 2 else int(hits[-2]) + 1  # where the contradicted segment began
        detected = _day(dates, int(hits[-1]))
        changed = _day(dates, before + max(change_point(series[before : hits[-1] + 1]), 0))
    return Evidence(
        metric=metric.label,
        days=len(seen),
        estimate=float(seen.mean()) if len(seen) else None,
        low=low if np.isfinite(low) else None,
        high=high if np.isfinite(high) else None,
        since=_day(dates, start),
        changed=changed,
        detected=detected,
        alpha=alpha * 2.0**-segment,
    )


def _day(dates: Any, index: int) -> date | None:
    return pd.Timestamp(dates[index]).date() if 0 <= index < len(dates) else None


def clv_differences(clv_daily: pd.DataFrame | None, dates: Any) -> np.ndarray:
    """The daily no-vig CLV difference on each of ``dates`` (NaN where either model lacks it), from
    ``clv_daily`` (columns game_date, clv_a, clv_b: each model's mean probability CLV per bet)."""
    out = np.full(len(dates), np.nan)
    if clv_daily is None or clv_daily.empty or not len(dates):
        return out
    frame = clv_daily.assign(game_date=pd.to_datetime(clv_daily["game_date"]))
    diff = pd.to_numeric(frame["clv_a"], errors="coerce") - pd.to_numeric(frame["clv_b"], errors="coerce")
    by_day = pd.Series(diff.to_numpy(np.float64), index=frame["game_date"]).groupby(level=0).mean()
    return by_day.reindex(pd.DatetimeIndex(dates)).to_numpy(np.float64)


def compare_pairs(
    pairs: pd.DataFrame,
    challenger: str,
    champion: str,
    start: date | None = None,
    end: date | None = None,
    rule: VerdictRule | None = None,
    objective: str = DEFAULT_OBJECTIVE,
    rank: int = 1,
    clv_daily: pd.DataFrame | None = None,
    window: int | None = None,
) -> Comparison:
    """Compare on the paired sample (columns of ``queries.PAIRED``; ``_a`` is the challenger), its
    dates taken in order as the monitoring sequence; ``rank``: the challenger's place among the
    champion's challengers (its share of the error budget); ``window``: the days of a fixed window
    read once (``compare --days``), None for the whole sequence."""
    rule, objective = rule or VerdictRule(), check_objective(objective)
    err_a, err_b = (pairs[c].to_numpy(np.float64) for c in ("err_a", "err_b"))
    out_a, out_b = (pairs[c].to_numpy(np.int64) for c in ("outcome_a", "outcome_b"))
    won_a, won_b = _won(pairs, "a", rule.payout), _won(pairs, "b", rule.payout)
    day, dates = pd.factorize(pd.to_datetime(pairs["game_date"]), sort=True)
    series = dict(zip(("mae", "roi"), daily_differences(day, len(dates), (err_a, err_b), (won_a, won_b),
                                                        (out_a != NO_BET, out_b != NO_BET)), strict=True))  # fmt: skip
    series["clv"] = clv_differences(clv_daily, dates)
    level = ALPHA * challenger_share(rank)
    evidence = {key: sequential_evidence(key, series[key], dates, level) for key in ("mae", "clv", "roi")}
    verdict, driver, reason = decide(evidence, objective, rule)
    note = disagreement({k: e.estimate for k, e in evidence.items()})
    both = ~np.isnan(series["roi"])
    return Comparison(
        challenger=_side(challenger, pairs, "a", won_a, day, both),
        champion=_side(champion, pairs, "b", won_b, day, both),
        start=start,
        end=end,
        graded_days=len(dates),
        n_shared=len(pairs),
        mae_diff=float((err_a - err_b).mean()) if len(pairs) else None,
        mae=evidence["mae"],
        roi=evidence["roi"],
        clv=evidence["clv"],
        verdict=verdict,
        driver=driver,
        reason=reason,
        rule=rule.describe(objective, evidence[objective].alpha, window),
        margins=rule,
        objective=objective,
        note=note,
        window=window,
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


def _bounds(e: Evidence) -> tuple[float, float]:
    return (-np.inf if e.low is None else e.low, np.inf if e.high is None else e.high)


def decide(evidence: dict[str, Evidence], objective: str, rule: VerdictRule) -> tuple[str, str | None, str]:
    """The verdict, the metric that drove it, and the evidence in words."""
    code, blocked = (v.item() for v in verdict_codes({k: _bounds(e) for k, e in evidence.items()}, objective,
                                                       rule.margins))  # fmt: skip
    verdict, main = VERDICTS[code], evidence[objective]
    cs = ", ".join(f"{e.metric} CS {interval(e)} over {e.days} days" for e in evidence.values())
    restarted = [
        f"the {e.metric} difference changed around {e.changed} (its confidence sequence contradicted itself "
        f"on {e.detected}): the comparison restarted {f'on {e.since}' if e.since else 'with the next graded night'} "
        f"at level {e.alpha:.3g}, the earlier nights no longer count (the restart is charged to the error budget)"
        for e in evidence.values()
        if e.changed is not None
    ]
    tail = f" ({cs})" + ("; " + "; ".join(restarted) if restarted else "")
    if verdict == PROMOTE:
        return verdict, main.metric, f"{main.metric} (the objective) drove it: better by more than the margin{tail}"
    harmed = " and ".join(e.metric for k, e in evidence.items() if k != objective and _harms(k, e, rule))
    if verdict == RETIRE:
        driver = main.metric if _gain(objective, main)[1] < 0 else harmed
        return verdict, driver, f"{driver} drove it: the challenger is worse{tail}"
    if blocked:
        return verdict, None, f"{main.metric} is better by its margin but the {harmed} guard shows harm{tail}"
    if main.high is None:
        need = first_bounded_day(main.alpha, PRIOR_PRECISION) * BLOCK_NIGHTS
        return verdict, None, (
            f"insufficient evidence on {main.metric} (the objective): {main.days} graded day(s) with it"
            f"{' since ' + str(main.since) if main.since else ''}; its confidence sequence excludes nothing "
            f"before about {need} nights{tail}"
        )  # fmt: skip
    return verdict, None, f"{main.metric} (the objective) is not better by its margin{tail}"


def _gain(key: str, e: Evidence) -> tuple[float, float]:
    """``e``'s CS on the "challenger better by" scale."""
    low, high = _bounds(e)
    return (-high, -low) if METRICS[key].better < 0 else (low, high)


def _harms(key: str, e: Evidence, rule: VerdictRule) -> bool:
    return _gain(key, e)[1] < -rule.margins[key]
