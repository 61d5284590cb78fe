"""A player's own form: scoring, opportunity, home/away splits, rest and availability."""

from __future__ import annotations

import numpy as np
import pandas as pd

from common.features.joins import asof, count_before, same_season


def _played_games(hist: pd.DataFrame) -> pd.DataFrame:
    """Played rows in (player, date) order with their team's totals for the game."""
    totals = hist.groupby(["game_id", "team_id"], sort=False)[["minutes", "fga", "fta"]].sum()
    played = hist[hist["_played"]].sort_values(["player_id", "game_date"], kind="stable")
    played = played.join(totals.add_prefix("team_"), on=["game_id", "team_id"])
    return played.reset_index(drop=True)


def _rolling_stats(p: pd.DataFrame) -> pd.DataFrame:
    """Per played game, form statistics over the player's games up to and including it."""
    p = p.assign(
        _poss=p["fga"] + 0.44 * p["fta"],
        _team_poss=p["team_fga"] + 0.44 * p["team_fta"],
        _starter=p["starter"].astype(np.float64),
    )
    p = p.assign(_use_num=p["_poss"] * p["team_minutes"] / 5, _use_den=p["minutes"] * p["_team_poss"])
    # p is sorted by (player, date), so grouped rolling results line up with its rows.
    g = p.groupby("player_id", sort=False)
    roll = lambda col, n, how="mean", least=1: getattr(g[col].rolling(n, min_periods=least), how)().to_numpy()  # noqa: E731
    ratio = lambda num, den: np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)  # noqa: E731
    season = p.groupby(["player_id", "_season"], sort=False)
    n_season = season.cumcount().to_numpy() + 1
    out = {
        "player_id": p["player_id"],
        "game_date": p["game_date"],
        "_season": p["_season"],
        "points_avg_last_3": roll("points", 3),
        "points_avg_last_5": roll("points", 5),
        "points_avg_last_10": roll("points", 10),
        "points_avg_last_20": roll("points", 20),
        "points_std_last_10": roll("points", 10, "std", 2),
        "points_max_last_10": roll("points", 10, "max"),
        "points_min_last_10": roll("points", 10, "min"),
        "points_median_last_10": roll("points", 10, "median"),
        "points_ewm_10": g["points"].ewm(span=10).mean().to_numpy(),
        "minutes_avg_last_5": roll("minutes", 5),
        "minutes_avg_last_10": roll("minutes", 10),
        "minutes_std_last_10": roll("minutes", 10, "std", 2),
        "fga_avg_last_10": roll("fga", 10),
        "fta_avg_last_10": roll("fta", 10),
        "fg3a_avg_last_10": roll("fg3a", 10),
        "fg3m_avg_last_10": roll("fg3m", 10),
        "points_per_minute_last_10": ratio(roll("points", 10, "sum"), roll("minutes", 10, "sum")),
        "fg3a_rate_last_10": ratio(roll("fg3a", 10, "sum"), roll("fga", 10, "sum")),
        "fta_rate_last_10": ratio(roll("fta", 10, "sum"), roll("fga", 10, "sum")),
        "usage_rate_last_10": 100 * ratio(roll("_use_num", 10, "sum"), roll("_use_den", 10, "sum")),
        "starter_rate_last_10": roll("_starter", 10),
        "fga_share_last_10": ratio(roll("fga", 10, "sum"), roll("team_fga", 10, "sum")),
        "fg_pct_last_10": ratio(roll("fgm", 10, "sum"), roll("fga", 10, "sum")),
        "fg3_pct_last_10": ratio(roll("fg3m", 10, "sum"), roll("fg3a", 10, "sum")),
        "ft_pct_last_10": ratio(roll("ftm", 10, "sum"), roll("fta", 10, "sum")),
        "minutes_last_game": p["minutes"],
        "points_last_game": p["points"],
        "season_pts": season["points"].cumsum().to_numpy() / n_season,
        "season_min": season["minutes"].cumsum().to_numpy() / n_season,
        "season_games": n_season,
    }
    return pd.DataFrame(out)


def player_features(hist: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    """Scoring form, opportunity, home/away splits and rest from the player's own games."""
    played = _played_games(hist)
    tgt = asof(tgt, _rolling_stats(played), "player_id", "_p")
    this_season = same_season(tgt, "_p")
    tgt["points_avg_season"] = np.where(this_season, tgt["season_pts"], np.nan)
    tgt["games_played_season"] = np.where(this_season, tgt["season_games"], 0.0)
    tgt["points_trend_5_vs_season"] = tgt["points_avg_last_5"] - tgt["points_avg_season"]
    tgt["minutes_avg_season"] = np.where(this_season, tgt["season_min"], np.nan)
    tgt["minutes_trend_5_vs_season"] = tgt["minutes_avg_last_5"] - tgt["minutes_avg_season"]
    tgt["days_rest"] = (tgt["game_date"] - tgt["_p_date"]).dt.days.astype(np.float64)
    tgt["back_to_back"] = (tgt["days_rest"] == 1).astype(np.float64)
    for flag, name in ((True, "player_home_avg"), (False, "player_away_avg")):
        side = played[played["is_home"].astype(bool) == flag]
        split = side[["player_id", "game_date", "_season"]].assign(
            **{
                name: side.groupby(["player_id", "_season"], sort=False)["points"].cumsum()
                / (side.groupby(["player_id", "_season"], sort=False).cumcount() + 1)
            }
        )
        tgt = asof(tgt, split, "player_id", f"_{name}")
        tgt[name] = np.where(same_season(tgt, f"_{name}"), tgt[name], np.nan)
    return tgt


def availability_features(hist: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    tgt["games_missed_last_14"] = count_before(hist[~hist["_played"]], tgt, 14)
    tgt["games_in_last_7_days"] = count_before(hist[hist["_played"]], tgt, 7)
    return tgt
