"""Vectorised feature extraction: box-score history -> the V12 feature columns.

One pass serves a whole slate or a whole season. Every history-based feature
of a target row (player P, date D) uses only history rows dated strictly
before D: statistics are computed per played game *including* that game, and
each target takes the values of the player's (team's) last game before D
through an as-of join that refuses exact date matches. So the game being
predicted never leaks, even when it is in ``history``.

Definitions worth knowing (the names are fixed by :mod:`common.feature_sets`):

* Season boundaries: ``last N`` windows and the EWM carry over from one season
  to the next (a player's form does not reset in the summer); every
  ``*_season`` value, win share, rating and allowed-points average resets
  (season = July-June of the game date; team priors come from the ``teams`` row
  of the target's season).
* ``last N`` means the player's last N *played* games (any season); averages
  need one game, ``points_std_last_10`` two (sample std). ``points_ewm_10`` is the
  EWM (span 10, adjusted) over the player's last 150 played games (issue 22; it
  spanned his whole history before: games beyond the 150th carry < 1e-13 of the
  weight, the values agree within 1e-9). Windows are computed only at the rows the
  targets read (:mod:`common.features.windows`), from whole frames in memory
  (training) or from the rows a slate needs, read by the engine (serving,
  :mod:`common.data.slate`): one function, :func:`features_for`, for both. ``*_season`` values
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
* ``points_per_minute_last_10``, ``fg3a_rate_last_10`` (3PA / FGA) and
  ``fta_rate_last_10`` (FTA / FGA) are ratios of sums over the last 10 played
  games (NaN when the denominator is 0); ``minutes_avg_season`` is the season-to-date
  average like ``points_avg_season``. ``team_off_rating_last_10`` is the team's
  points per 100 possessions over its last 10 games, raw, the twin of
  ``opponent_def_rating_last_10``; ``opponent_win_pct`` is the opponent's
  season-to-date win share, the twin of ``team_win_pct`` (these seven arrived with
  feature-set version 2).
* ``opponent_pts_allowed_to_role``: season-to-date average points per
  player-game the opponent allowed to starters, or to bench players, matching
  the target's role (starter if he started at least half of his last 10).
* ``games_missed_last_14``: the player's team games in [D-14, D) with a status
  other than 'played'; ``games_in_last_7_days``: his played games in [D-7, D);
  ``days_rest``: days since his last played game; ``back_to_back``: that was
  D-1. ``rest_advantage``: team's minus opponent's days since their previous
  game, each capped at 4 (no previous game counts as 4).
* Betting features come from the target game's own line snapshots as of the
  prediction's moment (:mod:`common.features.market`: the latest snapshot at
  or before ``as_of``; none by then means every line feature is NaN and
  ``has_vegas_line`` is 0). ``implied_team_total`` is not a market number (there are no game totals):
  it is expected possessions ((team pace + opponent pace) / 2) times
  (team_off_rating + opponent_def_rating) / 200, +1.4 points at home and
  -1.4 away, from the shrunk season-to-date ratings above.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from common.errors import InvalidArgument
from common.feature_sets import V12_FEATURES, get_feature_set
from common.features.context import (
    ROLE_GAME_COLUMNS,
    TEAM_GAME_COLUMNS,
    role_features,
    role_games,
    team_features,
    team_games,
)
from common.features.joins import dates, season_of
from common.features.market import (
    DEFAULT_LEAD_MINUTES,
    MARKET_COLUMNS,
    SNAPSHOT_COLUMNS,
    as_of_by_date,
    final_through,
    line_features,
    slate_as_of,
    utc,
)
from common.features.player import GIVEN_COLUMNS, availability_features, player_features, with_team_totals
from common.features.windows import EWM_DECAY, EWM_GAMES, LAST_GAMES

__all__ = [  # the package's interface (the engine's slate reader, common.data.slate, takes it from here)
    "EWM_DECAY",
    "EWM_GAMES",
    "HISTORY_COLUMNS",
    "KEY_COLUMNS",
    "LAST_GAMES",
    "MARKET_COLUMNS",
    "TARGET_COLUMNS",
    "TEAM_COLUMNS",
    "ROLE_GAME_COLUMNS",
    "SNAPSHOT_COLUMNS",
    "TEAM_GAME_COLUMNS",
    "GIVEN_COLUMNS",
    "FeatureInputs",
    "as_day",
    "build_feature_frame",
    "build_training_frame",
    "features_for",
    "final_through",
    "slate_as_of",
    "slate_targets",
    "to_model_input",
    "utc",
]

if TYPE_CHECKING:
    from common.data.season import SeasonData

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
TEAM_COLUMNS = ("team_id", "def_rating", "off_rating", "pace")


@dataclass(frozen=True)
class FeatureInputs:
    """What the features of some targets read: box-score rows (``HISTORY_COLUMNS``), team games
    (``TEAM_GAME_COLUMNS``), role games (``ROLE_GAME_COLUMNS``), line snapshots, the ``teams``
    priors and, optionally, what the engine summed for each player at his last played game
    (``given``: player_id, game_date and ``GIVEN_COLUMNS``: the EWM and the season-to-date sums of
    the one season all targets are in); else computed from ``history``, which then holds every row.

    Built from whole frames in memory (:func:`build_feature_frame`, training) or read from the
    engine with only the rows a slate needs (:func:`common.data.slate.load_slate`, serving); the
    features are computed from them by the one function :func:`features_for`."""

    history: pd.DataFrame
    team_games: pd.DataFrame
    role_games: pd.DataFrame
    snapshots: pd.DataFrame
    teams: pd.DataFrame
    given: pd.DataFrame | None = None


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
    _validate(history, snapshots, teams, targets)
    hist = _prepare(history)
    inputs = FeatureInputs(hist, team_games(hist), role_games(hist), snapshots, teams)
    return features_for(inputs, targets, as_of)


def features_for(inputs: FeatureInputs, targets: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """The feature frame of :func:`build_feature_frame` from ``inputs``: the one definition that
    training (every player-date) and serving (a slate) share."""
    _validate(inputs.history, inputs.snapshots, inputs.teams, targets)
    tg = _dated(inputs.team_games)
    hist = with_team_totals(_prepare(inputs.history), tg)
    tgt = _prepare(targets.loc[:, list(TARGET_COLUMNS)])
    tgt["is_home"] = tgt["is_home"].astype(np.float64)
    tgt["_row"] = np.arange(len(tgt))
    tgt["as_of"] = _moments(as_of, len(tgt)).set_axis(tgt.index)
    tgt = player_features(hist, tgt, inputs.given)
    tgt = availability_features(hist, tgt)
    tgt = team_features(tg, inputs.teams, tgt)
    tgt = role_features(_dated(inputs.role_games), tgt)
    tgt = line_features(inputs.snapshots, tgt)
    tgt = tgt.sort_values("_row")
    out = tgt[list(KEY_COLUMNS)].reset_index(drop=True)
    features = tgt[list(V12_FEATURES)].astype(np.float64).reset_index(drop=True)
    market = tgt[list(MARKET_COLUMNS)].reset_index(drop=True)
    return pd.concat([out, features, market], axis=1)


def build_training_frame(
    season: SeasonData, start: date, end: date, lead_minutes: int = DEFAULT_LEAD_MINUTES
) -> pd.DataFrame:
    """Features, ``actual_points`` and the market for every played player-game in [start, end].

    Each row is seen as of its date's moment (the first tip-off minus ``lead_minutes``, the rule
    of :mod:`common.features.market`), exactly as production predicts: its line features and its
    ``line``, ``over_price``, ``under_price`` are those of the snapshot used then. ``opening_line``
    and ``closing_line`` (the first and last snapshot before tip-off, from ``betting_lines``) come
    along for grading against the close and for closing-line value.
    """
    lo, hi = as_day(start), as_day(end)
    if lo > hi:
        raise InvalidArgument(f"start {lo.date()} is after end {hi.date()}")
    pg = season.player_games
    days = dates(pg["game_date"])
    targets = pg[(pg["status"] == "played") & (days >= lo) & (days <= hi)]
    moments = as_of_by_date(season.games, lead_minutes)
    as_of = dates(targets["game_date"]).map(moments)
    frame = build_feature_frame(pg, season.betting_line_snapshots, season.teams, targets, as_of.to_numpy())
    frame["actual_points"] = targets["points"].to_numpy().astype(np.float64)
    book = season.betting_lines[["game_id", "player_id", "opening_line", "closing_line"]]
    book = book.assign(game_id=book["game_id"].astype(str), player_id=book["player_id"].astype(np.int64))
    keys = frame[["game_id", "player_id"]].assign(game_id=frame["game_id"].astype(str))
    both = keys.merge(book, on=["game_id", "player_id"], how="left")
    frame["opening_line"] = both["opening_line"].to_numpy(np.float64)
    frame["closing_line"] = both["closing_line"].to_numpy(np.float64)
    return frame


def _moments(as_of: Any, n: int) -> pd.Series:
    """``as_of`` as n tz-aware UTC moments (one moment for all, or one per target)."""
    if as_of is None:
        raise InvalidArgument("as_of is required: the moment the features are built for")
    try:
        if isinstance(as_of, (str, datetime, pd.Timestamp, np.datetime64)):
            return pd.Series([utc(as_of)] * n, dtype="datetime64[ns, UTC]")
        values = utc(pd.Series(np.asarray(as_of)))
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"as_of must be a timestamp, got {as_of!r}: {exc}") from None
    if len(values) != n or values.isna().any():
        raise InvalidArgument(f"as_of must be one timestamp or one per target ({n}), without gaps")
    return values.reset_index(drop=True)


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
    day = as_day(game_date)
    pg = season.player_games
    on_day = (dates(pg["game_date"]) == day) & ~pg["status"].isin(["injured", "rest"])
    return pg.loc[on_day, list(TARGET_COLUMNS)].reset_index(drop=True)


# --- preparation ---------------------------------------------------------------------------------


def as_day(value: object) -> pd.Timestamp:
    """A date (``date``, ``datetime``, ISO text) as midnight; ``InvalidArgument`` when it is none or
    out of the range a timestamp holds."""
    if isinstance(value, (date, str)):  # datetime and pd.Timestamp are dates too
        try:
            return pd.Timestamp(value).normalize().as_unit("ns")
        except pd.errors.OutOfBoundsDatetime:
            first, last = pd.Timestamp.min.ceil("D").date(), pd.Timestamp.max.floor("D").date()
            raise InvalidArgument(f"date {value} is out of range: from {first} to {last} only") from None
        except ValueError:
            pass
    raise InvalidArgument(f"expected a date, got {value!r}")


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(f"{what} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidArgument(f"{what} lacks columns: {', '.join(missing)}")


def _validate(history, lines, teams, targets) -> None:
    for frame, cols, what in (
        (history, HISTORY_COLUMNS, "history"),
        (lines, SNAPSHOT_COLUMNS, "snapshots"),
        (teams, TEAM_COLUMNS, "teams"),
        (targets, TARGET_COLUMNS, "targets"),
    ):
        _require(frame, cols, what)
    if lines.duplicated(["game_id", "player_id", "captured_at"]).any():
        raise InvalidArgument("snapshots has more than one row for a (game_id, player_id, captured_at)")


def _prepare(rows: pd.DataFrame) -> pd.DataFrame:
    """A typed copy of history (or target) rows with a date, a season key, a day number and, for
    history, whether the row was played."""
    keep = [c for c in HISTORY_COLUMNS if c in rows.columns]
    frame = rows.loc[:, keep].copy()
    frame["game_date"] = dates(frame["game_date"])
    if frame["game_date"].isna().any():
        raise InvalidArgument("game_date has missing values")
    frame["_season"] = season_of(frame["game_date"])
    frame["_day"] = frame["game_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    if "status" in frame.columns:
        frame["_played"] = frame["status"].eq("played").to_numpy()
    return frame


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(game_date=dates(frame["game_date"]))
