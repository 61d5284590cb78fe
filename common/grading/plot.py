"""``modelctl compare --plot``: rolling hit rate and MAE, and cumulative units, per model over time, as a PNG.

matplotlib (matplotlib==3.11.2) is needed only for this and imported only here, with the
non-interactive Agg backend, so no function or other command pays for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from common.betting import DEFAULT_BET_PRICE
from common.errors import ConfigError, InvalidArgument
from common.grading.rolling import ROLLING_DAYS, cumulative_units, rolling


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
