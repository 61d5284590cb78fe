"""``modelctl compare --plot``: rolling hit rate and MAE, and cumulative units, per model over time, as a PNG.

matplotlib (matplotlib==3.11.2) is needed only for this and imported only here, with the
non-interactive Agg backend, so no function or other command pays for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from common.betting import DEFAULT_BET_PRICE, break_even, hit_rates, ratios
from common.errors import ConfigError, InvalidArgument

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


def plot_rolling(
    daily: pd.DataFrame,
    model_ids: Sequence[str],
    path: Path,
    days: int = ROLLING_DAYS,
    bet_price: float = DEFAULT_BET_PRICE,
) -> Path:
    """Write a PNG with three panels (rolling hit rate, rolling MAE, cumulative units), one line per model;
    break-even at ``bet_price`` (``BET_PRICE``) for days graded before the prices bet were stored."""
    if path.suffix.lower() != ".png":
        raise InvalidArgument(f"--plot writes a PNG; give a file name ending in .png, not {path.name!r}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--plot needs matplotlib: .venv/bin/pip install matplotlib==3.11.2") from None
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(9, 8.5), sharex=True)
    for model_id in model_ids:
        series = rolling(daily, model_id, days, bet_price)
        (drawn,) = top.plot(series.index, series["hit_rate"], marker=".", label=model_id)
        top.plot(series.index, series["break_even"], linestyle=":", linewidth=1, color=drawn.get_color(),
                 label=f"{model_id}: break-even of its prices")  # fmt: skip
        middle.plot(series.index, series["mae"], marker=".", label=model_id)
        units = cumulative_units(daily, model_id)
        bottom.plot(units.index, units.to_numpy(), marker=".", label=model_id)
    top.set_ylabel(f"hit rate, {days}-day (%)")
    middle.set_ylabel(f"MAE, {days}-day (points)")
    bottom.axhline(0.0, color="grey", linestyle=":", linewidth=1)
    bottom.set_ylabel("cumulative units (at the prices bet)")
    top.set_title("Rolling performance (out-of-sample graded days)")
    top.legend(fontsize=8)
    bottom.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=10))
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
