"""A slate's feature inputs read from the engine: only the rows its features need.

Serving does not load the season tables (:func:`common.data.store.load_season` reads every row of
every season); it asks the engine for what one date's features read, with date filters that
BigQuery prunes on (SQL in :mod:`common.data.queries`):

* the slate (players listed for the date, not ruled out) and its games' tip-offs;
* the slate's players' box-score rows: the last ``LAST_GAMES`` played games of each (the longest
  "last N" window) and the rows not played of the last 14 days; and, at each one's last game,
  what the engine sums for him (``GIVEN_COLUMNS``): ``points_ewm_10`` over his last ``EWM_GAMES``
  games (the EWM's bounded window) and his season to date, so the season's rows are not read;
* team games: the season's, each slate team's last 10 (from the previous season early in a
  season) and those of the history's games (their totals feed the usage and shot-share
  windows), and the season's points allowed per opponent and role, both summed by the engine;
* the slate's line snapshots captured by the moment, and the season's preseason team ratings.

The features are then computed from these by :func:`common.features.features_for`, the same
function training uses on whole frames, so serving and training cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from common.data.queries import (
    HAS_SEASON_DATA,
    ROLE_GAMES,
    SLATE_GAMES,
    SLATE_HISTORY,
    SLATE_SNAPSHOTS,
    SLATE_TARGETS,
    SLATE_TEAMS,
    TEAM_GAMES,
)
from common.data.store import GENERATE_COMMAND, NO_DATA_HINT, typed
from common.errors import ConfigError, MissingTable, NotFound
from common.features import (
    EWM_DECAY,
    EWM_GAMES,
    GIVEN_COLUMNS,
    HISTORY_COLUMNS,
    LAST_GAMES,
    ROLE_GAME_COLUMNS,
    SNAPSHOT_COLUMNS,
    TARGET_COLUMNS,
    TEAM_GAME_COLUMNS,
    FeatureInputs,
    as_day,
    final_through,
    slate_as_of,
    utc,
)
from common.sql import Engine

TEAMS = ("team_id", "name", "def_rating", "off_rating", "pace", "season")
AVAILABILITY_DAYS = 14  # the longest look-back of the availability counts (games_missed_last_14)
TEAM_GAMES_BACK = 10  # a team's longest window (team_off_rating_last_10, opponent_def_rating_last_10)


@dataclass(frozen=True)
class SlateInputs:
    """A date's slate (``targets``), the moment it is predicted as of, and its feature inputs."""

    game_date: date
    as_of: pd.Timestamp
    targets: pd.DataFrame
    inputs: FeatureInputs | None  # None when nobody is listed that day


def load_slate(engine: Engine, game_date: date, lead_minutes: int, as_of: Any = None) -> SlateInputs:
    """What the features of ``game_date``'s slate read as of ``as_of`` (default: the as-of rule of
    :mod:`common.features.market`). ``targets`` is empty (and nothing else is read) when nobody is
    listed that day; ``NotFound`` when the season tables are empty, ``ConfigError`` when missing."""
    day = as_day(game_date).date()
    try:
        return _load(engine, day, lead_minutes, as_of)
    except MissingTable:
        raise ConfigError(
            f"no season tables in {engine.url}: run `modelctl migrate`, then `{GENERATE_COMMAND}`"
        ) from None


def _load(engine: Engine, day: date, lead_minutes: int, as_of: Any) -> SlateInputs:
    games = _frame(engine, SLATE_GAMES, {"day": day}, ("game_id", "game_date", "tip_off"))
    moment = utc(as_of) if as_of is not None else slate_as_of(games, day, lead_minutes)
    targets = _frame(engine, SLATE_TARGETS, {"day": day}, TARGET_COLUMNS)
    if targets.empty:
        if not engine.query(HAS_SEASON_DATA)[0]["has_data"]:
            raise NotFound(f"no season data in {engine.url}: {NO_DATA_HINT}")
        return SlateInputs(day, moment, targets, None)
    start = _season_start(day)
    last = min(final_through(moment).date(), day - timedelta(days=1))
    window = {"day": day, "last": last, "season_start": start, "recent": day - timedelta(days=AVAILABILITY_DAYS)}
    ewm = {"games": LAST_GAMES, "ewm_games": EWM_GAMES, "decay": EWM_DECAY}
    history = _frame(engine, SLATE_HISTORY, {**window, **ewm}, (*HISTORY_COLUMNS, *GIVEN_COLUMNS))
    team_window = {"last": last, "season_start": start, **_earlier_games(history, start)}
    inputs = FeatureInputs(
        history=history.drop(columns=list(GIVEN_COLUMNS)),
        team_games=_team_games(engine, team_window, targets),
        role_games=_frame(engine, ROLE_GAMES, {"season_start": start, "last": last}, ROLE_GAME_COLUMNS),
        snapshots=_frame(engine, SLATE_SNAPSHOTS, {"day": day, "as_of": _moment(moment)}, SNAPSHOT_COLUMNS),
        teams=_frame(engine, SLATE_TEAMS, {"season": f"{start.year}-{(start.year + 1) % 100:02d}"}, TEAMS),
        given=_last_games(history),
    )
    return SlateInputs(day, moment, targets, inputs)


def _earlier_games(history: pd.DataFrame, start: date) -> dict[str, Any]:
    """The games of the slate's history before the season (``@game_ids``, from ``@since``): their
    team totals feed the usage windows of a player whose last games reach back."""
    before = history[history["game_date"] < pd.Timestamp(start)]
    since = before["game_date"].min().date() if len(before) else start
    return {"game_ids": sorted(before["game_id"].astype(str).unique()), "since": since}


def _team_games(engine: Engine, window: dict[str, Any], targets: pd.DataFrame) -> pd.DataFrame:
    """``TEAM_GAMES`` scanned from the season's start when that holds each slate team's last
    ``TEAM_GAMES_BACK`` games (every date but the season's first weeks), else from the previous
    season's start; with the history's own games before the season either way."""
    start = window["season_start"]
    params = {**window, "games": TEAM_GAMES_BACK}
    narrow = _frame(engine, TEAM_GAMES, {**params, "first": start}, TEAM_GAME_COLUMNS)
    recent = narrow[narrow["game_date"] >= pd.Timestamp(start)]
    counts = recent["team_id"].value_counts()
    teams = pd.unique(np.concatenate([targets["team_id"].to_numpy(), targets["opponent_team_id"].to_numpy()]))
    if all(counts.get(team, 0) >= TEAM_GAMES_BACK for team in teams):
        return narrow
    return _frame(engine, TEAM_GAMES, {**params, "first": start.replace(year=start.year - 1)}, TEAM_GAME_COLUMNS)


def _last_games(history: pd.DataFrame) -> pd.DataFrame:
    """Each player's last played game (player_id, game_date) and the engine's sums there."""
    played = history[history["status"] == "played"]
    last = played.drop_duplicates("player_id", keep="last")  # rows come in (player, date) order
    return last.loc[:, ["player_id", "game_date", *GIVEN_COLUMNS]].reset_index(drop=True)


def _season_start(day: date) -> date:
    """July 1st opening ``day``'s season (seasons run July-June, as the features count them)."""
    return date(day.year - (day.month < 7), 7, 1)


def _moment(moment: pd.Timestamp) -> datetime:
    return moment.to_pydatetime()


def _frame(engine: Engine, sql: str, params: dict[str, Any], columns: tuple[str, ...]) -> pd.DataFrame:
    """The rows, typed like the season tables; none come back as an empty frame with ``columns``
    (BigQuery returns no schema for an empty result)."""
    frame = engine.query_frame(sql, params).reset_index(drop=True)
    if frame.empty:
        frame = pd.DataFrame({c: pd.Series(dtype=np.float64) for c in columns})
    return typed(frame.loc[:, list(columns)])
