"""A player's own form: scoring, opportunity, home/away splits, rest and availability.

Form statistics are bounded windows (:mod:`common.features.windows`) computed only at the rows the
targets read: each target's last played game before its date."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from common.errors import InvalidArgument
from common.features.joins import asof, count_before, dates, same_season
from common.features.windows import Windows, first_rows, last_before

TEAM_TOTALS = ("team_minutes", "team_fga", "team_fta")
# What the engine may sum for each player at his last played game (SLATE_HISTORY in
# common.data.queries), so a slate's history holds his last 20 games, not his season: the EWM over
# his last 150 games and the season-to-date sums (the targets' one season; 0 without a game).
SEASON_SUMS = (
    "season_points",
    "season_minutes",
    "season_games",
    "home_points",
    "home_games",
    "away_points",
    "away_games",
)
GIVEN_COLUMNS = ("points_ewm_10", *SEASON_SUMS)


def with_team_totals(hist: pd.DataFrame, team_games: pd.DataFrame) -> pd.DataFrame:
    """``hist`` with each row's team totals for its game (``TEAM_TOTALS``, from the team games)."""
    totals = team_games.set_index(["game_id", "team_id"]).loc[:, list(TEAM_TOTALS)]
    return hist.join(totals, on=["game_id", "team_id"])


def _played_games(hist: pd.DataFrame) -> pd.DataFrame:
    """Played rows in (player, date) order."""
    played = hist[hist["_played"]].sort_values(["player_id", "game_date"], kind="stable")
    return played.reset_index(drop=True)


def _rolling_stats(p: pd.DataFrame, at: np.ndarray, given: dict[str, np.ndarray] | None) -> pd.DataFrame:
    """At played rows ``at``, form statistics over the player's games up to and including that row
    (the EWM and the season values: ``given`` when the engine summed them, see :func:`player_features`)."""
    col = lambda name: p[name].to_numpy(np.float64)  # noqa: E731
    poss, team_poss = col("fga") + 0.44 * col("fta"), col("team_fga") + 0.44 * col("team_fta")
    use_num, use_den = poss * col("team_minutes") / 5, col("minutes") * team_poss
    w = Windows(first_rows(p["player_id"].to_numpy()), at)
    ratio = lambda num, den: np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)  # noqa: E731
    ten = lambda name: w.sum(col(name), 10)  # noqa: E731
    out = {
        "player_id": p["player_id"].to_numpy()[at],
        "game_date": p["game_date"].to_numpy()[at],
        "_season": p["_season"].to_numpy()[at],
        "points_avg_last_3": w.mean(col("points"), 3),
        "points_avg_last_5": w.mean(col("points"), 5),
        "points_avg_last_10": w.mean(col("points"), 10),
        "points_avg_last_20": w.mean(col("points"), 20),
        "points_std_last_10": w.std(col("points"), 10),
        "points_max_last_10": w.reduce(col("points"), 10, "max"),
        "points_min_last_10": w.reduce(col("points"), 10, "min"),
        "points_median_last_10": w.reduce(col("points"), 10, "median"),
        "minutes_avg_last_5": w.mean(col("minutes"), 5),
        "minutes_avg_last_10": w.mean(col("minutes"), 10),
        "minutes_std_last_10": w.std(col("minutes"), 10),
        "fga_avg_last_10": w.mean(col("fga"), 10),
        "fta_avg_last_10": w.mean(col("fta"), 10),
        "fg3a_avg_last_10": w.mean(col("fg3a"), 10),
        "fg3m_avg_last_10": w.mean(col("fg3m"), 10),
        "points_per_minute_last_10": ratio(ten("points"), ten("minutes")),
        "fg3a_rate_last_10": ratio(ten("fg3a"), ten("fga")),
        "fta_rate_last_10": ratio(ten("fta"), ten("fga")),
        "usage_rate_last_10": 100 * ratio(w.sum(use_num, 10), w.sum(use_den, 10)),
        "starter_rate_last_10": w.mean(col("starter"), 10),
        "fga_share_last_10": ratio(ten("fga"), ten("team_fga")),
        "fg_pct_last_10": ratio(ten("fgm"), ten("fga")),
        "fg3_pct_last_10": ratio(ten("fg3m"), ten("fg3a")),
        "ft_pct_last_10": ratio(ten("ftm"), ten("fta")),
        "minutes_last_game": col("minutes")[at],
        "points_last_game": col("points")[at],
    }
    return pd.DataFrame({**out, **(_summed(p, at, w) if given is None else _from_sums(given, ratio))})


def _summed(p: pd.DataFrame, at: np.ndarray, w: Windows) -> dict[str, np.ndarray]:
    """The EWM and the season values at rows ``at`` from every row of the players' history."""
    season = p.groupby(["player_id", "_season"], sort=False)
    n_season = season.cumcount().to_numpy()[at] + 1
    return {
        "points_ewm_10": w.ewm(p["points"].to_numpy(np.float64)),
        "season_pts": season["points"].cumsum().to_numpy()[at] / n_season,
        "season_min": season["minutes"].cumsum().to_numpy()[at] / n_season,
        "season_games": n_season,
    }


def _from_sums(given: dict[str, np.ndarray], ratio: Callable[..., np.ndarray]) -> dict[str, np.ndarray]:
    """The same values from the engine's sums (``GIVEN_COLUMNS``), and the home and away averages of
    the season (in memory they come from the player's last home and away games instead)."""
    n = given["season_games"]
    return {
        "points_ewm_10": given["points_ewm_10"],
        "season_pts": ratio(given["season_points"], n),
        "season_min": ratio(given["season_minutes"], n),
        "season_games": n,
        "player_home_avg": ratio(given["home_points"], given["home_games"]),
        "player_away_avg": ratio(given["away_points"], given["away_games"]),
    }


def player_features(hist: pd.DataFrame, tgt: pd.DataFrame, given: pd.DataFrame | None = None) -> pd.DataFrame:
    """Scoring form, opportunity, home/away splits and rest from the player's own games.

    ``hist`` carries its rows' team totals (:func:`with_team_totals`). ``given``, when given, holds
    ``GIVEN_COLUMNS`` at each player's last played game (player_id, game_date), summed by the
    engine over the same windows (``SLATE_HISTORY``): ``hist`` then needs his last 20 games only,
    not the 150 of the EWM nor the season; every target must be of the season they were summed over."""
    played = _played_games(hist)
    ids, days = played["player_id"].to_numpy(), played["_day"].to_numpy()
    pos = last_before(ids, days, tgt["player_id"].to_numpy(), tgt["_day"].to_numpy())
    at = np.unique(pos[pos >= 0])
    tgt = asof(tgt, _rolling_stats(played, at, None if given is None else _given(played, at, given)), "player_id", "_p")
    this_season = same_season(tgt, "_p")
    tgt["points_avg_season"] = np.where(this_season, tgt["season_pts"], np.nan)
    tgt["games_played_season"] = np.where(this_season, tgt["season_games"], 0.0)
    tgt["points_trend_5_vs_season"] = tgt["points_avg_last_5"] - tgt["points_avg_season"]
    tgt["minutes_avg_season"] = np.where(this_season, tgt["season_min"], np.nan)
    tgt["minutes_trend_5_vs_season"] = tgt["minutes_avg_last_5"] - tgt["minutes_avg_season"]
    tgt["days_rest"] = (tgt["game_date"] - tgt["_p_date"]).dt.days.astype(np.float64)
    tgt["back_to_back"] = (tgt["days_rest"] == 1).astype(np.float64)
    if given is not None:  # the season's sums: a player without a game of the target's season has none
        for name in ("player_home_avg", "player_away_avg"):
            tgt[name] = np.where(this_season, tgt[name], np.nan)
        return tgt
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


def _given(played: pd.DataFrame, at: np.ndarray, given: pd.DataFrame) -> dict[str, np.ndarray]:
    """The engine's sums at played rows ``at``: they are summed at each player's last game only, so
    a row they do not cover is an error, never a silent NaN."""
    keys = pd.MultiIndex.from_arrays([played["player_id"].to_numpy()[at], played["game_date"].to_numpy()[at]])
    index = pd.MultiIndex.from_arrays([given["player_id"].to_numpy(), dates(given["game_date"]).to_numpy()])
    found = index.get_indexer(keys)
    if (found < 0).any():
        raise InvalidArgument(f"the sums given cover {int((found >= 0).sum())} of the {len(at)} games the targets read")
    return {c: given[c].to_numpy(np.float64)[found] for c in GIVEN_COLUMNS}


def availability_features(hist: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    tgt["games_missed_last_14"] = count_before(hist[~hist["_played"]], tgt, 14)
    tgt["games_in_last_7_days"] = count_before(hist[hist["_played"]], tgt, 7)
    return tgt
