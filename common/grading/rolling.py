"""The rolling series of one model's graded days: trailing MAE, hit rate and break-even, and
cumulative units. The dashboard's model page charts them; ``modelctl compare --plot`` draws them
(:mod:`common.grading.plot`, the only place matplotlib is imported).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from common.betting import DEFAULT_BET_PRICE, break_even, hit_rates, ratios

ROLLING_DAYS = 7


def rolling(
    daily: pd.DataFrame, model_id: str, days: int = ROLLING_DAYS, bet_price: float = DEFAULT_BET_PRICE
) -> pd.DataFrame:
    """One model's trailing ``days``-day MAE, hit rate and break-even hit rate of the prices it bet
    (percent; ``bet_price``'s, the setting ``BET_PRICE``, for days graded before prices were stored) per
    calendar date (out-of-sample rows only)."""
    rows = daily[(daily["system_id"] == model_id) & ~daily["in_sample"].astype(bool) & (daily["n"] > 0)]
    if rows.empty:
        return pd.DataFrame(columns=["mae", "hit_rate", "break_even"])
    bets = rows["n_bets"].to_numpy(np.float64)
    even = (
        pd.to_numeric(rows["break_even"], errors="coerce").to_numpy(np.float64)
        if "break_even" in rows
        else bets * np.nan
    )
    frame = pd.DataFrame(
        {
            "abs_sum": rows["mae"].to_numpy(np.float64) * rows["n"].to_numpy(np.float64),
            "n": rows["n"].to_numpy(np.float64),
            "hits": rows["n_hits"].to_numpy(np.float64),
            "bets": bets,
            "even": np.where(np.isnan(even), break_even(bet_price), even) * bets,
        },
        index=pd.to_datetime(rows["game_date"]),
    )
    frame = frame.groupby(level=0).sum().asfreq("D", fill_value=0.0)
    sums = frame.rolling(days, min_periods=1).sum()
    return pd.DataFrame(
        {
            "mae": ratios(sums["abs_sum"], sums["n"]),
            "hit_rate": hit_rates(sums["hits"], sums["bets"]),
            "break_even": ratios(sums["even"], sums["bets"], 100.0),
        },
        index=sums.index,
    )


def cumulative_units(daily: pd.DataFrame, model_id: str) -> pd.Series:
    """One model's units won, summed over its out-of-sample graded days in date order."""
    rows = daily[(daily["system_id"] == model_id) & ~daily["in_sample"].astype(bool) & (daily["n"] > 0)]
    units = pd.Series(np.nan_to_num(rows["units"].to_numpy(np.float64)), index=pd.to_datetime(rows["game_date"]))
    return units.groupby(level=0).sum().sort_index().cumsum()
