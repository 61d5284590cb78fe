"""The game's context: team and opponent ratings and the opponent against the player's role.

The line features are :mod:`common.features.market` (the market as of a moment)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from common.features.joins import asof, same_season, season_of
from common.features.windows import Windows, first_rows

PRIOR_GAMES = 5.0  # weight of the preseason team ratings, in games
REST_CAP = 4.0
HOME_EDGE = 1.4  # points added to (taken from) the home (away) implied total
TEAM_GAME_COLUMNS = ("game_id", "team_id", "game_date", "opp", "pts", "poss", "team_minutes", "team_fga", "team_fta")
ROLE_GAME_COLUMNS = ("opponent_team_id", "starter", "game_id", "game_date", "pts", "n")


def team_games(hist: pd.DataFrame) -> pd.DataFrame:
    """One row per team game (``TEAM_GAME_COLUMNS``): its date, opponent, points, possessions (FGA +
    0.44 FTA) and minutes, FGA and FTA, summed over the team's rows (the in-memory twin of
    ``TEAM_GAMES`` in :mod:`common.data.queries`)."""
    rows = hist.assign(_poss=hist["fga"] + 0.44 * hist["fta"])
    return (
        rows.groupby(["game_id", "team_id"], sort=False)
        .agg(
            game_date=("game_date", "first"),
            opp=("opponent_team_id", "first"),
            pts=("points", "sum"),
            poss=("_poss", "sum"),
            team_minutes=("minutes", "sum"),
            team_fga=("fga", "sum"),
            team_fta=("fta", "sum"),
        )
        .reset_index()
    )


def _team_game_stats(tg: pd.DataFrame) -> pd.DataFrame:
    """Per team game, season-to-date ratings (inclusive) and the last-10 ratings."""
    tg = tg.loc[:, ["game_id", "team_id", "game_date", "opp", "pts", "poss"]].assign(_season=season_of(tg["game_date"]))
    other = tg[["game_id", "team_id", "pts", "poss"]].rename(
        columns={"team_id": "opp", "pts": "opp_pts", "poss": "opp_poss"}
    )
    tg = tg.merge(other, on=["game_id", "opp"], how="left")
    tg = tg.sort_values(["team_id", "game_date"], kind="stable").reset_index(drop=True)
    tg["win"] = (tg["pts"] > tg["opp_pts"]).astype(np.float64)
    tg["pace"] = (tg["poss"] + tg["opp_poss"]) / 2
    cum = tg.groupby(["team_id", "_season"], sort=False)[["pts", "poss", "opp_pts", "opp_poss", "win", "pace"]].cumsum()
    n = tg.groupby(["team_id", "_season"], sort=False).cumcount().astype(np.float64) + 1
    w = Windows(first_rows(tg["team_id"].to_numpy()), np.arange(len(tg)))
    last10 = {c: w.sum(tg[c].to_numpy(np.float64), 10) for c in ("pts", "poss", "opp_pts", "opp_poss")}
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
            "def_last_10": 100 * last10["opp_pts"] / last10["opp_poss"],
            "off_last_10": 100 * last10["pts"] / last10["poss"],
        }
    )


def _shrink(raw: pd.Series, n: np.ndarray, prior: pd.Series) -> np.ndarray:
    """Blend season-to-date ``raw`` (from ``n`` games) with a preseason ``prior`` worth 5 games."""
    raw, prior = raw.to_numpy(np.float64), prior.to_numpy(np.float64)
    n = np.where(np.isnan(raw), 0.0, n)
    k = np.where(np.isnan(prior), 0.0, PRIOR_GAMES)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (n * np.nan_to_num(raw) + k * np.nan_to_num(prior)) / (n + k)


def _priors(teams: pd.DataFrame, seasons: np.ndarray) -> pd.DataFrame:
    """Preseason ratings indexed by (team, season start year).

    ``teams`` holds a row per team and season (its ``season`` label, e.g. '2025-26'); rows without a
    season (one-season data written before migration 018) serve every season.
    """
    cols = ["off_rating", "def_rating", "pace"]
    if "season" not in teams.columns:
        teams = teams.assign(season=None)
    has = teams["season"].notna()
    labelled = teams[has].assign(_season=teams.loc[has, "season"].astype(str).str[:4].astype(np.int64))
    spread = teams[~has].merge(pd.DataFrame({"_season": np.asarray(seasons, dtype=np.int64)}), how="cross")
    both = pd.concat([spread, labelled], ignore_index=True).drop_duplicates(["team_id", "_season"], keep="last")
    return both.set_index(["team_id", "_season"])[cols].astype(np.float64)


def team_features(tg: pd.DataFrame, teams: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    """Team and opponent ratings from ``tg``, the team games (:func:`team_games`)."""
    stats = _team_game_stats(tg)
    priors = _priors(teams, tgt["_season"].unique())
    for side, key in (("_t", "team_id"), ("_o", "opponent_team_id")):
        table = stats.rename(columns={"team_id": key, **{c: f"{side}{c}" for c in stats.columns[3:]}})
        season_only = tuple(f"{side}{c}" for c in ("n", "off", "def", "pace", "allowed", "win_pct"))
        tgt = asof(tgt, table, key, side, this_season=season_only)
        tgt[f"{side}n"] = tgt[f"{side}n"].fillna(0.0)
        at = priors.index.get_indexer(pd.MultiIndex.from_arrays([tgt[key].to_numpy(), tgt["_season"].to_numpy()]))
        values = priors.to_numpy()[np.maximum(at, 0)] if len(priors) else np.full((len(tgt), 3), np.nan)
        values[at < 0] = np.nan
        names = [f"{side}prior_{c}" for c in priors.columns]
        tgt = pd.concat([tgt, pd.DataFrame(values, columns=names, index=tgt.index)], axis=1)
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


def role_games(hist: pd.DataFrame) -> pd.DataFrame:
    """Per (opponent, starter, game): the points and player-games of the played rows (the in-memory
    twin of ``ROLE_GAMES`` in :mod:`common.data.queries`)."""
    played = hist[hist["_played"]]
    return (
        played.groupby(["opponent_team_id", "starter", "game_id"], sort=False)
        .agg(game_date=("game_date", "first"), pts=("points", "sum"), n=("points", "size"))
        .reset_index()
    )


def role_features(rg: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    """Season-to-date points per player-game the opponent allowed to starters / to bench players,
    from ``rg``, the role games (:func:`role_games`)."""
    role = rg["opponent_team_id"].astype(str) + "|" + rg["starter"].astype(bool).map({True: "S", False: "B"})
    per_game = rg.assign(_role=role, _season=season_of(rg["game_date"])).sort_values(
        ["_role", "game_date"], kind="stable"
    )
    cum = per_game.groupby(["_role", "_season"], sort=False)[["pts", "n"]].cumsum()
    table = per_game[["_role", "game_date", "_season"]].assign(_allowed_to_role=cum["pts"] / cum["n"])
    starter = tgt["starter_rate_last_10"].fillna(0.0) >= 0.5
    tgt["_role"] = tgt["opponent_team_id"].astype(str) + "|" + np.where(starter, "S", "B")
    tgt = asof(tgt, table, "_role", "_r")
    tgt["opponent_pts_allowed_to_role"] = np.where(same_season(tgt, "_r"), tgt["_allowed_to_role"], np.nan)
    return tgt
