"""A model's money over the charted window: cumulative units with their 95% band, bets per day, the
maximum drawdown, probability CLV over time, and the rolling windows without their partial start.

Pure functions on the daily rows grading writes. The band at each date is the interval
``modelctl performance`` prints for the window up to that date (``uncertainty.money``: units are the
bets times the ROI interval, clustered by date), so its last point is ``performance``'s own figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from common.grading.uncertainty import clustered_ratio


@dataclass(frozen=True)
class UnitsPath:
    """Per graded date (out-of-sample, in order): bets, cumulative units and their 95% interval."""

    bets: pd.Series
    cumulative: pd.Series
    low: pd.Series  # NaN while the interval is unknown (one date, or no spread)
    high: pd.Series


@dataclass(frozen=True)
class Drawdown:
    """The largest fall of cumulative units from a high to a later low."""

    size: float  # units, >= 0
    peak: date
    trough: date


def _own_rows(daily: pd.DataFrame, model_id: str, start: date, end: date) -> pd.DataFrame:
    days = pd.to_datetime(daily["game_date"]).dt.date
    keep = (daily["system_id"] == model_id) & ~daily["in_sample"].astype(bool) & (days >= start) & (days <= end)
    return daily[keep & (daily["n"] > 0)]


def units_path(daily: pd.DataFrame, model_id: str, start: date, end: date) -> UnitsPath:
    """``model_id``'s cumulative units over ``start..end`` with, at each date, the 95% interval of the
    units up to it (each bet at its own price, as graded)."""
    rows = _own_rows(daily, model_id, start, end)
    index = pd.to_datetime(rows["game_date"])
    bets = pd.Series(rows["n_bets"].to_numpy(np.float64), index=index).groupby(level=0).sum()
    won = pd.Series(np.nan_to_num(rows["units"].to_numpy(np.float64)), index=index).groupby(level=0).sum()
    b, u = bets.to_numpy(), won.to_numpy()
    low, high = np.full(len(b), np.nan), np.full(len(b), np.nan)
    for k in range(len(b)):
        interval = clustered_ratio(u[: k + 1], b[: k + 1]).scaled(float(b[: k + 1].sum()))
        if interval.low is not None and interval.high is not None:
            low[k], high[k] = interval.low, interval.high
    return UnitsPath(bets, won.cumsum(), pd.Series(low, index=bets.index), pd.Series(high, index=bets.index))


def max_drawdown(cumulative: pd.Series) -> Drawdown | None:
    """The largest drop from a running high to a later low (None when units never fell)."""
    if cumulative.empty:
        return None
    values = cumulative.to_numpy(np.float64)
    peaks = np.maximum.accumulate(values)
    falls = peaks - values
    trough = int(np.argmax(falls))
    if falls[trough] <= 0:
        return None
    peak = int(np.flatnonzero(values[: trough + 1] == peaks[trough])[0])
    day = [pd.Timestamp(d).date() for d in cumulative.index]
    return Drawdown(float(falls[trough]), day[peak], day[trough])


def complete_windows(frame: pd.DataFrame | pd.Series, days: int) -> pd.DataFrame | pd.Series:
    """A rolling frame without its first ``days - 1`` dates: their windows reach back before the
    first graded date, so they hold fewer days than the window says (a one-day "7-day" point)."""
    if len(frame) < days:
        return frame.iloc[0:0]
    out = frame.copy()
    out.iloc[: days - 1] = np.nan
    return out


def rolling_clv(daily: pd.DataFrame, model_id: str, days: int) -> pd.Series:
    """The trailing ``days``-day mean no-vig probability CLV per bet, in percentage points, each day's
    mean weighted by its bets with a closing market (as ``figures.window_figures``); complete windows only."""
    rows = daily[(daily["system_id"] == model_id) & ~daily["in_sample"].astype(bool) & (daily["n"] > 0)]
    if rows.empty:
        return pd.Series(dtype=np.float64)
    value = pd.to_numeric(rows["clv_prob"], errors="coerce").to_numpy(np.float64)
    weight = rows["n_clv"].to_numpy(np.float64)
    known = ~np.isnan(value) & (weight > 0)
    frame = pd.DataFrame(
        {"sum": np.where(known, value * weight, 0.0), "n": np.where(known, weight, 0.0)},
        index=pd.to_datetime(rows["game_date"]),
    )
    sums = frame.groupby(level=0).sum().asfreq("D", fill_value=0.0).rolling(days, min_periods=1).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        series = 100.0 * sums["sum"] / sums["n"].where(sums["n"] > 0)
    return complete_windows(series, days)
