"""Per-model figures: the daily rows grading writes and the windows built from them.

Pure functions on small frames (one row per model per day). Daily rows keep
their counts beside their rates, so a window over several days is exact: MAE,
bias and coverage are weighted by ``n``, hit rates are hits over bets.
Days inside a model's training window (``in_sample``) are left out of every
window: live evaluation is out-of-sample only. Every money figure carries its 95%
interval (``uncertainty.py``, clustered by date) and its counts; unknown is None.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from common import betting
from common.grading.catalog import Catalog
from common.grading.queries import DAILY_COLUMNS, LIVE_INTERVALS
from common.grading.uncertainty import IntervalFields, money

WINDOWS = (7, 14, 30)
_COUNTS = (
    "n", "n_bets", "n_hits", "n_pushes", "n_pass", "n_edge_3plus", "n_hits_edge_3plus", "n_pending", "n_void", "n_clv",
)  # fmt: skip
_MEANS = {
    "mae": "n",
    "bias": "n",
    "coverage": "n",
    "pinball": "n",
    "clv": "n_clv",
    "clv_prob": "n_clv",
    "break_even": "n_bets",
}  # mean column → its weight


@dataclass(frozen=True)
class Figures(IntervalFields):
    """How one model did over a window of graded days."""

    model_id: str
    start: date
    end: date
    graded_days: int
    n: int
    mae: float | None
    bias: float | None
    n_bets: int
    hit_rate: float | None  # percent, pushes and PASS excluded
    n_edge_3plus: int
    hit_rate_edge_3plus: float | None
    coverage: float | None  # quantile models: share of actuals below the prediction
    quantile_alpha: float | None
    n_pending: int
    n_void: int
    units: float | None  # each bet at its own price: +payout per win, -1 per loss, 0 per push; None: unknown
    roi: float | None  # units per bet, pooled over the window (None: no bets, or units unknown)
    n_clv: int  # bets with a closing market
    clv: float | None  # mean closing line minus the bet line, toward the pick, points
    pinball: float | None  # quantile models: mean pinball loss at quantile_alpha
    n_pushes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items()}


def build_daily(inputs: pd.DataFrame, catalog: Catalog, graded_at: datetime) -> pd.DataFrame:
    """``model_performance_daily`` rows from the ``DAILY_INPUTS`` aggregates of some dates.

    Adds the rates, ROI and mean CLV, the quantile coverage and pinball loss (models whose
    registry loss is Quantile), and whether each date is within the model's training window.
    A model with predictions on a date has a row even when none could be graded yet (n = 0).
    Pinball loss at alpha from the aggregates: mean(u (alpha - 1{u<0})) with u = actual - prediction
    is ``alpha * (-bias) - shortfall``, shortfall = mean(min(u, 0)).
    """
    numbers = ("mae", "bias", "share_below", "shortfall", "units", "clv_sum", "clv_prob_sum", "n_clv_prob",
               "break_even")  # fmt: skip
    frame = _with_columns(inputs, ("game_date", "system_id", "role", *_COUNTS, *numbers))
    for column in _COUNTS:
        frame[column] = frame[column].fillna(0).astype(np.int64)
    for column in numbers:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
    frame["hit_rate"] = betting.hit_rates(frame["n_hits"], frame["n_bets"])
    frame["units"] = frame["units"].fillna(0.0)
    frame["roi"] = betting.rois(frame["units"], frame["n_bets"])
    frame["clv"] = betting.ratios(frame["clv_sum"], frame["n_clv"])
    # over the bets with a closing price (a closing line whose prices are not odds has no probability CLV)
    frame["clv_prob"] = betting.ratios(frame["clv_prob_sum"], frame["n_clv_prob"].fillna(0))
    frame["break_even"] = np.where(frame["n_bets"] > 0, frame["break_even"], np.nan)
    frame["hit_rate_edge_3plus"] = betting.hit_rates(frame["n_hits_edge_3plus"], frame["n_edge_3plus"])
    alpha = {m.model_id: m.quantile_alpha for m in catalog.models if m.loss_function == "Quantile"}
    train_end = {m.model_id: m.train_end for m in catalog.models if m.train_end}
    frame["quantile_alpha"] = frame["system_id"].map(alpha).astype(np.float64)
    share_below = pd.to_numeric(frame["share_below"], errors="coerce").astype(np.float64)
    frame["coverage"] = np.where(frame["quantile_alpha"].notna(), share_below, np.nan)
    frame["pinball"] = frame["quantile_alpha"] * -frame["bias"] - frame["shortfall"]  # NaN unless quantile
    ends = pd.to_datetime(frame["system_id"].map(train_end))
    frame["in_sample"] = (pd.to_datetime(frame["game_date"]) <= ends).fillna(False).astype(bool)
    frame["graded_at"] = graded_at
    for column in ("mae", "bias", "coverage", "pinball", "clv_prob", "break_even"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
    return frame.loc[:, list(DAILY_COLUMNS)].sort_values(["game_date", "system_id"]).reset_index(drop=True)


def window_figures(daily: pd.DataFrame, start: date, end: date) -> dict[str, Figures]:
    """Each model's out-of-sample figures over ``start..end`` (inclusive) from daily rows."""
    if daily.empty:
        return {}
    days = _day(daily["game_date"])
    rows = daily[(days >= start) & (days <= end) & ~daily["in_sample"].astype(bool)]
    n = rows["n"].to_numpy(np.float64)
    parts = {c: rows[c].fillna(0).to_numpy(np.int64) for c in _COUNTS}
    parts["graded_days"] = (n > 0).astype(np.int64)
    units = rows["units"].to_numpy(np.float64)
    parts["units"] = np.nan_to_num(units)
    # a day with bets but no units (graded before migration 012, not regraded since) makes the sum unknown, not 0
    parts["units_unknown"] = (np.isnan(units) & (parts["n_bets"] > 0)).astype(np.int64)
    for column, weight_column in _MEANS.items():
        values, weight = rows[column].to_numpy(np.float64), rows[weight_column].to_numpy(np.float64)
        known = (weight > 0) & ~np.isnan(values)
        parts[f"{column}_sum"] = np.where(known, values * weight, 0.0)
        parts[f"{column}_n"] = np.where(known, weight, 0.0)
    per_day = pd.DataFrame(parts, index=rows["system_id"].to_numpy())
    sums = per_day.groupby(level=0, sort=True).sum()
    alphas = rows.groupby("system_id")["quantile_alpha"].max()
    return {
        str(model_id): _figures(str(model_id), row, alphas.get(model_id), start, end, per_day.loc[[model_id]])
        for model_id, row in sums.iterrows()
    }


def _figures(model_id: str, s: pd.Series, alpha: float | None, start: date, end: date, days: pd.DataFrame) -> Figures:
    def mean(column: str) -> float | None:
        return float(s[f"{column}_sum"] / s[f"{column}_n"]) if s[f"{column}_n"] > 0 else None

    # Per date: known break-even sums only where the day's break-even is known (NULL before 017).
    be_sum = np.where(days["break_even_n"] > 0, days["break_even_sum"], np.nan)
    figures = money(days["n_hits"], days["n_bets"], days["units"], be_sum, (days["clv_sum"], days["clv_n"]),
                    (days["clv_prob_sum"], days["clv_prob_n"]))  # fmt: skip
    units = None if int(s["units_unknown"]) else float(s["units"])
    fields = {**figures.flat(), "clv_prob": mean("clv_prob")}
    if units is None:  # unknown units: ROI, units and their intervals are unknown too, never 0
        fields.update(roi_low=None, roi_high=None, units_low=None, units_high=None)
    return Figures(
        **fields,
        n_pushes=int(s["n_pushes"]),
        model_id=model_id,
        start=start,
        end=end,
        graded_days=int(s["graded_days"]),
        n=int(s["n"]),
        mae=mean("mae"),
        bias=mean("bias"),
        n_bets=int(s["n_bets"]),
        hit_rate=betting.hit_rate(int(s["n_hits"]), int(s["n_bets"])),
        n_edge_3plus=int(s["n_edge_3plus"]),
        hit_rate_edge_3plus=betting.hit_rate(int(s["n_hits_edge_3plus"]), int(s["n_edge_3plus"])),
        coverage=mean("coverage"),
        quantile_alpha=None if alpha is None or pd.isna(alpha) else float(alpha),
        n_pending=int(s["n_pending"]),
        n_void=int(s["n_void"]),
        units=units,
        roi=None if units is None else betting.roi(units, int(s["n_bets"])),
        n_clv=int(s["n_clv"]),
        clv=mean("clv"),
        pinball=mean("pinball"),
    )


def live_evaluation(daily: pd.DataFrame, as_of: date, model_ids: list[str]) -> list[dict[str, Any]]:
    """The registry's rolling 7/14/30-day columns for ``model_ids``, windows ending at ``as_of``: the
    figures with their counts and 95% intervals (``queries.LIVE_INTERVALS``), None where unknown."""
    per_window = {w: window_figures(daily, as_of - timedelta(days=w - 1), as_of) for w in WINDOWS}
    counts = {"n", "n_edge_3plus", "n_bets", "n_dates", "n_clv"}
    rows = []
    for model_id in model_ids:
        row: dict[str, Any] = {"model_id": model_id}
        for w, figures in per_window.items():
            f = figures.get(model_id)
            for name in ("n", "mae", "hit_rate", "hit_rate_edge_3plus", "n_edge_3plus", "units", "roi", "clv",
                         *LIVE_INTERVALS):  # fmt: skip
                value = getattr(f, name) if f else None
                row[f"eval_{w}d_{name}"] = (value or 0) if name in counts else value
        rows.append(row)
    return rows


def _with_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The frame with ``game_date`` as dates and every column present (BigQuery's empty results have none)."""
    frame = frame.copy()
    for column in columns:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=object if column in ("system_id", "role", "game_date") else np.float64)
    frame["game_date"] = _day(frame["game_date"])
    return frame


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.date
