"""Time-safe joins: each target row sees only history dated strictly before its game."""

from __future__ import annotations

import numpy as np
import pandas as pd

from common.features.windows import last_before


def dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize().astype("datetime64[ns]")


def asof(tgt: pd.DataFrame, table: pd.DataFrame, by: str, tag: str, this_season: tuple[str, ...] = ()) -> pd.DataFrame:
    """Attach, per target, the ``table`` row with the same ``by`` and the latest date strictly before.

    ``table``'s ``game_date`` and ``_season`` arrive as ``{tag}_date`` and ``{tag}_season``;
    its other columns must not clash with the targets'. A target without such a row gets NaN
    (NaT for dates), and so do its ``this_season`` columns when the row is of an earlier season.
    Targets keep their order: the rows are found by binary search, not a merge.
    """
    pos = last_before(table[by].to_numpy(), _days(table["game_date"]), tgt[by].to_numpy(), tgt["_day"].to_numpy())
    found, take = pos >= 0, np.maximum(pos, 0)
    seasons = table["_season"].to_numpy()
    current = found & (seasons[take] == tgt["_season"].to_numpy()) if len(seasons) else found
    names = {"game_date": f"{tag}_date", "_season": f"{tag}_season"}
    added = {}
    for column in table.columns:
        if column == by:
            continue
        values = table[column].to_numpy()
        if values.dtype.kind == "M":
            missing = values.dtype.type("NaT")
        else:
            values, missing = values.astype(np.float64), np.nan
        picked = values[take] if len(values) else np.full(len(take), missing, dtype=values.dtype)
        picked[~(current if column in this_season else found)] = missing
        added[names.get(column, column)] = picked
    return pd.concat([tgt, pd.DataFrame(added, index=tgt.index)], axis=1)


def _days(values: pd.Series) -> np.ndarray:
    return values.to_numpy().astype("datetime64[D]").astype(np.int64)


def same_season(tgt: pd.DataFrame, tag: str) -> np.ndarray:
    return (tgt[f"{tag}_season"] == tgt["_season"]).to_numpy()


def count_before(events: pd.DataFrame, tgt: pd.DataFrame, days: int) -> np.ndarray:
    """Per target, the player's events dated in [D - days, D), by binary search on (player, day) keys."""
    codes, _ = pd.factorize(pd.concat([events["player_id"], tgt["player_id"]], ignore_index=True))
    span = np.int64(1) << 32  # day numbers fit far below this
    keys = np.sort(codes[: len(events)].astype(np.int64) * span + events["_day"].to_numpy())
    target = codes[len(events) :].astype(np.int64) * span + tgt["_day"].to_numpy()
    return (np.searchsorted(keys, target, "left") - np.searchsorted(keys, target - days, "left")).astype(np.float64)


def season_of(game_date: pd.Series) -> pd.Series:
    """The season a date belongs to, as its start year (July-June: 2026-03-18 is season 2025)."""
    return game_date.dt.year - (game_date.dt.month < 7)
