"""Vectorised feature extraction: box-score history -> the V12 feature columns.

One pass serves a whole slate or a whole season. Every history-based feature
of a target row (player P, date D) uses only history rows dated strictly
before D: statistics are computed per played game *including* that game, and
each target takes the values of the player's (team's) last game before D
through an as-of join that refuses exact date matches. So the game being
predicted never leaks, even when it is in ``history``.

Definitions worth knowing (the names are fixed by :mod:`common.feature_sets`):

* ``last N`` means the player's last N *played* games (any season); averages
  need one game, ``points_std_last_10`` two (sample std). ``*_season`` values
  use only the target's season (July-June); before a player's first game of
  the season they are NaN and ``games_played_season`` is 0.
* ``usage_rate_last_10``: 100 * sum((FGA + 0.44 FTA) * team minutes / 5) /
  sum(minutes * team (FGA + 0.44 FTA)) over the last 10 games. The box score
  has no turnovers, so they are left out of both sides.
* Possessions are estimated as FGA + 0.44 FTA (no turnovers or offensive
  rebounds in the box score). Team ratings are points per 100 such
  possessions, season to date; ``team_off_rating``, ``team_pace`` and
  ``opponent_def_rating``/``opponent_pace`` are shrunk towards the ``teams``
  frame's preseason ratings with the weight of 5 games (so they exist on
  opening night). ``opponent_def_rating_last_10`` and
  ``opponent_pts_allowed_avg`` are raw (NaN without games).
* ``opponent_pts_allowed_to_role``: season-to-date average points per
  player-game the opponent allowed to starters, or to bench players, matching
  the target's role (starter if he started at least half of his last 10).
* ``games_missed_last_14``: the player's team games in [D-14, D) with a status
  other than 'played'; ``games_in_last_7_days``: his played games in [D-7, D);
  ``days_rest``: days since his last played game; ``back_to_back``: that was
  D-1. ``rest_advantage``: team's minus opponent's days since their previous
  game, each capped at 4 (no previous game counts as 4).
* Betting features come from ``lines`` for the target game itself (known
  before tip-off): ``vegas_points_line`` is the closing line; without a line
  all line features are NaN and ``has_vegas_line`` is 0.
  ``implied_team_total`` is not a market number (there are no game totals):
  it is expected possessions ((team pace + opponent pace) / 2) times
  (team_off_rating + opponent_def_rating) / 200, +1.4 points at home and
  -1.4 away, from the shrunk season-to-date ratings above.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from common.errors import InvalidArgument
from common.feature_sets import V12_FEATURES, get_feature_set

if TYPE_CHECKING:
    from common.data.synth import SeasonData

KEY_COLUMNS = ("game_id", "game_date", "player_id", "team_id", "opponent_team_id")
TARGET_COLUMNS = (*KEY_COLUMNS, "is_home")
HISTORY_COLUMNS = (
    *TARGET_COLUMNS,
    "starter",
    "minutes",
    "points",
    "fga",
    "fgm",
    "fg3a",
    "fg3m",
    "fta",
    "ftm",
    "status",
)
LINE_COLUMNS = ("game_id", "player_id", "opening_line", "closing_line")
TEAM_COLUMNS = ("team_id", "def_rating", "off_rating", "pace")
PRIOR_GAMES = 5.0  # weight of the preseason team ratings, in games
REST_CAP = 4.0
HOME_EDGE = 1.4  # points added to (taken from) the home (away) implied total


def build_feature_frame(
    history: pd.DataFrame, lines: pd.DataFrame, teams: pd.DataFrame, targets: pd.DataFrame
) -> pd.DataFrame:
    """Key columns plus the 50 V12 features (float64, V12 order) for each target row, in target order.

    ``targets`` needs game_id, game_date, player_id, team_id, opponent_team_id and is_home;
    ``is_home`` comes back as the float feature of that name. Only ``history`` rows dated
    before a target's date feed its features; ``lines`` is used for the target game itself.
    """
    hist, tgt = _prepare(history, lines, teams, targets)
    tgt = _player_features(hist, tgt)
    tgt = _availability_features(hist, tgt)
    tgt = _team_features(hist, teams, tgt)
    tgt = _role_features(hist, tgt)
    tgt = _line_features(lines, tgt)
    tgt = tgt.sort_values("_row")
    out = tgt[list(KEY_COLUMNS)].reset_index(drop=True)
    features = tgt[list(V12_FEATURES)].astype(np.float64).reset_index(drop=True)
    return pd.concat([out, features], axis=1)


def build_training_frame(season: SeasonData, start: date, end: date) -> pd.DataFrame:
    """Features, ``actual_points`` and both lines for every played player-game in [start, end]."""
    lo, hi = _as_day(start), _as_day(end)
    if lo > hi:
        raise InvalidArgument(f"start {lo.date()} is after end {hi.date()}")
    pg = season.player_games
    days = _dates(pg["game_date"])
    targets = pg[(pg["status"] == "played") & (days >= lo) & (days <= hi)]
    frame = build_feature_frame(pg, season.betting_lines, season.teams, targets)
    frame["actual_points"] = targets["points"].to_numpy().astype(np.float64)
    frame["closing_line"] = frame["vegas_points_line"]
    frame["opening_line"] = frame["vegas_opening_line"]
    return frame


def to_model_input(frame: pd.DataFrame, feature_set_name: str) -> np.ndarray | pd.DataFrame:
    """Positional float64 matrix for ``by_name=False`` sets (v9), else a frame with exactly the set's columns."""
    feature_set = get_feature_set(feature_set_name)
    missing = [c for c in feature_set.features if c not in frame.columns]
    if missing:
        raise InvalidArgument(f"frame lacks {len(missing)} {feature_set.name} features: {', '.join(missing)}")
    matrix = frame.loc[:, list(feature_set.features)].astype(np.float64)
    return matrix if feature_set.by_name else matrix.to_numpy()


def slate_targets(season: SeasonData, game_date: date | str) -> pd.DataFrame:
    """Players listed for ``game_date`` who are not ruled out (injured or resting): the prediction slate."""
    day = _as_day(game_date)
    pg = season.player_games
    on_day = (_dates(pg["game_date"]) == day) & ~pg["status"].isin(["injured", "rest"])
    return pg.loc[on_day, list(TARGET_COLUMNS)].reset_index(drop=True)


# --- preparation ---------------------------------------------------------------------------------


def _as_day(value: object) -> pd.Timestamp:
    if isinstance(value, (date, str)):  # datetime and pd.Timestamp are dates too
        try:
            return pd.Timestamp(value).normalize().as_unit("ns")
        except ValueError:
            pass
    raise InvalidArgument(f"expected a date, got {value!r}")


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize().astype("datetime64[ns]")


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(f"{what} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidArgument(f"{what} lacks columns: {', '.join(missing)}")


def _prepare(history, lines, teams, targets) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validated, typed copies of history and targets with a date, a season key and a row number."""
    for frame, cols, what in (
        (history, HISTORY_COLUMNS, "history"),
        (lines, LINE_COLUMNS, "lines"),
        (teams, TEAM_COLUMNS, "teams"),
        (targets, TARGET_COLUMNS, "targets"),
    ):
        _require(frame, cols, what)
    if lines.duplicated(["game_id", "player_id"]).any():
        raise InvalidArgument("lines has more than one row for a (game_id, player_id)")
    hist = history.loc[:, list(HISTORY_COLUMNS)].copy()
    tgt = targets.loc[:, list(TARGET_COLUMNS)].copy()
    for frame in (hist, tgt):
        frame["game_date"] = _dates(frame["game_date"])
        frame["_season"] = frame["game_date"].dt.year - (frame["game_date"].dt.month < 7)
        frame["_day"] = frame["game_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    if tgt["game_date"].isna().any() or hist["game_date"].isna().any():
        raise InvalidArgument("game_date has missing values")
    tgt["is_home"] = tgt["is_home"].astype(np.float64)
    tgt["_row"] = np.arange(len(tgt))
    hist["_played"] = hist["status"].eq("played").to_numpy()
    return hist, tgt


def _asof(tgt: pd.DataFrame, table: pd.DataFrame, by: str, tag: str) -> pd.DataFrame:
    """Attach, per target, the ``table`` row with the same ``by`` and the latest date strictly before.

    ``table``'s ``game_date`` and ``_season`` arrive as ``{tag}_date`` and ``{tag}_season``;
    its other columns must not clash with the targets'.
    """
    right = table.rename(columns={"game_date": f"{tag}_date", "_season": f"{tag}_season"})
    merged = pd.merge_asof(
        tgt.sort_values("game_date", kind="stable"),
        right.sort_values(f"{tag}_date", kind="stable"),
        left_on="game_date",
        right_on=f"{tag}_date",
        by=by,
        allow_exact_matches=False,
    )
    return merged


def _same_season(tgt: pd.DataFrame, tag: str) -> np.ndarray:
    return (tgt[f"{tag}_season"] == tgt["_season"]).to_numpy()


# --- player form ---------------------------------------------------------------------------------


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


def _player_features(hist: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    """Scoring form, opportunity, home/away splits and rest from the player's own games."""
    played = _played_games(hist)
    tgt = _asof(tgt, _rolling_stats(played), "player_id", "_p")
    this_season = _same_season(tgt, "_p")
    tgt["points_avg_season"] = np.where(this_season, tgt["season_pts"], np.nan)
    tgt["games_played_season"] = np.where(this_season, tgt["season_games"], 0.0)
    tgt["points_trend_5_vs_season"] = tgt["points_avg_last_5"] - tgt["points_avg_season"]
    season_min = np.where(this_season, tgt["season_min"], np.nan)
    tgt["minutes_trend_5_vs_season"] = tgt["minutes_avg_last_5"] - season_min
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
        tgt = _asof(tgt, split, "player_id", f"_{name}")
        tgt[name] = np.where(_same_season(tgt, f"_{name}"), tgt[name], np.nan)
    return tgt


# --- availability --------------------------------------------------------------------------------


def _count_before(events: pd.DataFrame, tgt: pd.DataFrame, days: int) -> np.ndarray:
    """Per target, the player's events dated in [D - days, D), by binary search on (player, day) keys."""
    codes, _ = pd.factorize(pd.concat([events["player_id"], tgt["player_id"]], ignore_index=True))
    span = np.int64(1) << 32  # day numbers fit far below this
    keys = np.sort(codes[: len(events)].astype(np.int64) * span + events["_day"].to_numpy())
    target = codes[len(events) :].astype(np.int64) * span + tgt["_day"].to_numpy()
    return (np.searchsorted(keys, target, "left") - np.searchsorted(keys, target - days, "left")).astype(np.float64)


def _availability_features(hist: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    tgt["games_missed_last_14"] = _count_before(hist[~hist["_played"]], tgt, 14)
    tgt["games_in_last_7_days"] = _count_before(hist[hist["_played"]], tgt, 7)
    return tgt


# --- team and opponent context -------------------------------------------------------------------


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
    last10 = tg.groupby("team_id", sort=False)[["opp_pts", "opp_poss"]].rolling(10, min_periods=1).sum()
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
        }
    )


def _shrink(raw: pd.Series, n: np.ndarray, prior: pd.Series) -> np.ndarray:
    """Blend season-to-date ``raw`` (from ``n`` games) with a preseason ``prior`` worth 5 games."""
    raw, prior = raw.to_numpy(np.float64), prior.to_numpy(np.float64)
    n = np.where(np.isnan(raw), 0.0, n)
    k = np.where(np.isnan(prior), 0.0, PRIOR_GAMES)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (n * np.nan_to_num(raw) + k * np.nan_to_num(prior)) / (n + k)


def _team_features(hist: pd.DataFrame, teams: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    stats = _team_game_stats(hist)
    priors = teams.set_index("team_id")[["off_rating", "def_rating", "pace"]].astype(np.float64)
    for side, key in (("_t", "team_id"), ("_o", "opponent_team_id")):
        table = stats.rename(columns={"team_id": key, **{c: f"{side}{c}" for c in stats.columns[3:]}})
        tgt = _asof(tgt, table, key, side)
        stale = ~_same_season(tgt, side)
        tgt.loc[stale, [f"{side}{c}" for c in ("n", "off", "def", "pace", "allowed", "win_pct")]] = np.nan
        tgt[f"{side}n"] = tgt[f"{side}n"].fillna(0.0)
        tgt = tgt.join(priors.add_prefix(f"{side}prior_"), on=key)
    tgt["team_pace"] = _shrink(tgt["_tpace"], tgt["_tn"], tgt["_tprior_pace"])
    tgt["team_off_rating"] = _shrink(tgt["_toff"], tgt["_tn"], tgt["_tprior_off_rating"])
    tgt["team_win_pct"] = tgt["_twin_pct"]
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


def _role_features(hist: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
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
    tgt = _asof(tgt, table, "_role", "_r")
    tgt["opponent_pts_allowed_to_role"] = np.where(_same_season(tgt, "_r"), tgt["_allowed_to_role"], np.nan)
    return tgt


def _line_features(lines: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    """The target game's own prop line (known before tip-off) and its distance from recent form."""
    posted = lines[["game_id", "player_id", "opening_line", "closing_line"]]
    tgt = tgt.merge(posted, on=["game_id", "player_id"], how="left")
    tgt["vegas_points_line"] = tgt["closing_line"].astype(np.float64)
    tgt["vegas_opening_line"] = tgt["opening_line"].astype(np.float64)
    tgt["vegas_line_move"] = tgt["vegas_points_line"] - tgt["vegas_opening_line"]
    tgt["has_vegas_line"] = tgt["vegas_points_line"].notna().astype(np.float64)
    tgt["line_vs_season_avg"] = tgt["vegas_points_line"] - tgt["points_avg_season"]
    tgt["line_vs_last_5_avg"] = tgt["vegas_points_line"] - tgt["points_avg_last_5"]
    return tgt
