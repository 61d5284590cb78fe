"""The slate features as defined before issue 22: pandas ``groupby().rolling()`` over whole frames.

Kept verbatim (only imports joined) as the reference of the exactness tests
(``tests/test_feature_windows.py``): the bounded-window features must equal these, within 1e-9,
on every engine. Not used by the product."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from common.errors import InvalidArgument
from common.feature_sets import V12_FEATURES
from common.features import HISTORY_COLUMNS, KEY_COLUMNS, TARGET_COLUMNS, _moments
from common.features.context import HOME_EDGE, REST_CAP, _priors, _shrink
from common.features.joins import asof, count_before, dates, same_season
from common.features.market import MARKET_COLUMNS, line_features


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


def _team_game_stats(hist: pd.DataFrame) -> pd.DataFrame:
    """Per team game, season-to-date ratings (inclusive) and the last-10 defensive rating."""
    hist = hist.assign(_poss=hist["fga"] + 0.44 * hist["fta"])
    tg = (
        hist.groupby(["game_id", "team_id"], sort=False)
        .agg(
            game_date=("game_date", "first"),
            _season=("_season", "first"),
            opp=("opponent_team_id", "first"),
            pts=("points", "sum"),
            poss=("_poss", "sum"),
        )
        .reset_index()
    )
    other = tg[["game_id", "team_id", "pts", "poss"]].rename(
        columns={"team_id": "opp", "pts": "opp_pts", "poss": "opp_poss"}
    )
    tg = tg.merge(other, on=["game_id", "opp"], how="left")
    tg = tg.sort_values(["team_id", "game_date"], kind="stable").reset_index(drop=True)
    tg["win"] = (tg["pts"] > tg["opp_pts"]).astype(np.float64)
    tg["pace"] = (tg["poss"] + tg["opp_poss"]) / 2
    cum = tg.groupby(["team_id", "_season"], sort=False)[["pts", "poss", "opp_pts", "opp_poss", "win", "pace"]].cumsum()
    n = tg.groupby(["team_id", "_season"], sort=False).cumcount().astype(np.float64) + 1
    last10 = tg.groupby("team_id", sort=False)[["pts", "poss", "opp_pts", "opp_poss"]].rolling(10, min_periods=1).sum()
    return pd.DataFrame(
        {
            "team_id": tg["team_id"],
            "game_date": tg["game_date"],
            "_season": tg["_season"],
            "n": n,
            "off": 100 * cum["pts"] / cum["poss"],
            "def": 100 * cum["opp_pts"] / cum["opp_poss"],
            "pace": cum["pace"] / n,
            "allowed": cum["opp_pts"] / n,
            "win_pct": cum["win"] / n,
            "def_last_10": 100 * last10["opp_pts"].to_numpy() / last10["opp_poss"].to_numpy(),
            "off_last_10": 100 * last10["pts"].to_numpy() / last10["poss"].to_numpy(),
        }
    )


def team_features(hist: pd.DataFrame, teams: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    stats = _team_game_stats(hist)
    priors = _priors(teams, tgt["_season"].unique())
    for side, key in (("_t", "team_id"), ("_o", "opponent_team_id")):
        table = stats.rename(columns={"team_id": key, **{c: f"{side}{c}" for c in stats.columns[3:]}})
        tgt = asof(tgt, table, key, side)
        stale = ~same_season(tgt, side)
        tgt.loc[stale, [f"{side}{c}" for c in ("n", "off", "def", "pace", "allowed", "win_pct")]] = np.nan
        tgt[f"{side}n"] = tgt[f"{side}n"].fillna(0.0)
        tgt = tgt.join(priors.add_prefix(f"{side}prior_"), on=[key, "_season"])
    tgt["team_pace"] = _shrink(tgt["_tpace"], tgt["_tn"], tgt["_tprior_pace"])
    tgt["team_off_rating"] = _shrink(tgt["_toff"], tgt["_tn"], tgt["_tprior_off_rating"])
    tgt["team_win_pct"] = tgt["_twin_pct"]
    tgt["opponent_win_pct"] = tgt["_owin_pct"]
    tgt["team_off_rating_last_10"] = tgt["_toff_last_10"]
    tgt["opponent_def_rating"] = _shrink(tgt["_odef"], tgt["_on"], tgt["_oprior_def_rating"])
    tgt["opponent_pace"] = _shrink(tgt["_opace"], tgt["_on"], tgt["_oprior_pace"])
    tgt["opponent_pts_allowed_avg"] = tgt["_oallowed"]
    tgt["opponent_def_rating_last_10"] = tgt["_odef_last_10"]
    rest = lambda d: (tgt["game_date"] - d).dt.days.clip(upper=REST_CAP).fillna(REST_CAP)  # noqa: E731
    tgt["rest_advantage"] = rest(tgt["_t_date"]) - rest(tgt["_o_date"])
    possessions = (tgt["team_pace"] + tgt["opponent_pace"]) / 2
    edge = np.where(tgt["is_home"] > 0, HOME_EDGE, -HOME_EDGE)
    tgt["implied_team_total"] = possessions * (tgt["team_off_rating"] + tgt["opponent_def_rating"]) / 200 + edge
    return tgt


def role_features(hist: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    """Season-to-date points per player-game the opponent allowed to starters / to bench players."""
    played = hist[hist["_played"]]
    role = played["opponent_team_id"].astype(str) + "|" + played["starter"].astype(bool).map({True: "S", False: "B"})
    per_game = (
        played.assign(_role=role)
        .groupby(["_role", "game_id"], sort=False)
        .agg(
            game_date=("game_date", "first"),
            _season=("_season", "first"),
            pts=("points", "sum"),
            n=("points", "size"),
        )
        .reset_index()
        .sort_values(["_role", "game_date"], kind="stable")
    )
    cum = per_game.groupby(["_role", "_season"], sort=False)[["pts", "n"]].cumsum()
    table = per_game[["_role", "game_date", "_season"]].assign(_allowed_to_role=cum["pts"] / cum["n"])
    starter = tgt["starter_rate_last_10"].fillna(0.0) >= 0.5
    tgt["_role"] = tgt["opponent_team_id"].astype(str) + "|" + np.where(starter, "S", "B")
    tgt = asof(tgt, table, "_role", "_r")
    tgt["opponent_pts_allowed_to_role"] = np.where(same_season(tgt, "_r"), tgt["_allowed_to_role"], np.nan)
    return tgt


def build_feature_frame(
    history: pd.DataFrame, snapshots: pd.DataFrame, teams: pd.DataFrame, targets: pd.DataFrame, as_of: Any
) -> pd.DataFrame:
    """Key columns, every V12 feature (float64, V12 order) and the market used (``MARKET_COLUMNS``)
    for each target row, in target order.

    ``targets`` needs game_id, game_date, player_id, team_id, opponent_team_id and is_home;
    ``is_home`` comes back as the float feature of that name. Only ``history`` rows dated
    before a target's date feed its features; of ``snapshots`` only the target game's own,
    captured at or before ``as_of`` (one moment, or one per target row), are read.
    """
    hist, tgt = _prepare(history, targets)
    tgt["as_of"] = _moments(as_of, len(tgt)).set_axis(tgt.index)
    tgt = player_features(hist, tgt)
    tgt = availability_features(hist, tgt)
    tgt = team_features(hist, teams, tgt)
    tgt = role_features(hist, tgt)
    tgt = line_features(snapshots, tgt)
    tgt = tgt.sort_values("_row")
    out = tgt[list(KEY_COLUMNS)].reset_index(drop=True)
    features = tgt[list(V12_FEATURES)].astype(np.float64).reset_index(drop=True)
    market = tgt[list(MARKET_COLUMNS)].reset_index(drop=True)
    return pd.concat([out, features, market], axis=1)


def _prepare(history, targets) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validated, typed copies of history and targets with a date, a season key and a row number."""
    hist = history.loc[:, list(HISTORY_COLUMNS)].copy()
    tgt = targets.loc[:, list(TARGET_COLUMNS)].copy()
    for frame in (hist, tgt):
        frame["game_date"] = dates(frame["game_date"])
        frame["_season"] = frame["game_date"].dt.year - (frame["game_date"].dt.month < 7)
        frame["_day"] = frame["game_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    if tgt["game_date"].isna().any() or hist["game_date"].isna().any():
        raise InvalidArgument("game_date has missing values")
    tgt["is_home"] = tgt["is_home"].astype(np.float64)
    tgt["_row"] = np.arange(len(tgt))
    hist["_played"] = hist["status"].eq("played").to_numpy()
    return hist, tgt
