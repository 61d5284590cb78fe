"""Slate features in, ``player_prop_predictions`` rows out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from common.errors import NotFound
from common.runtime import runtime_for
from common.settings import Settings
from common.sql import Param
from common.worker import queries as q
from common.worker.slate import Slate

if TYPE_CHECKING:
    from common.data.season import SeasonData

PREDICTIONS_TABLE = "player_prop_predictions"


def slate_features(
    settings: Settings, game_date: date, as_of: datetime | None = None, season: SeasonData | None = None
) -> Slate:
    """Features for every player expected to play on ``game_date`` as of a moment: one vectorised
    pass, kept as the worker's float32 matrix.

    The moment is ``as_of``, else the rule of :mod:`common.features.market` (PREDICT_LEAD_MINUTES
    before the slate's first tip-off), for today's slate and a replay of a past date alike. Only
    what was known then is read: box scores final by then, and each prop's latest snapshot at or
    before it. ``season``: the season data already loaded (a backfill reads it once); without it
    the engine is asked for the rows the slate's features need only (:mod:`common.data.slate`).
    """
    from common.features import build_feature_frame, features_for, slate_targets
    from common.features.market import final_before, slate_as_of

    if season is None:
        from common.data.slate import load_slate

        read = load_slate(runtime_for(settings).engine(), game_date, settings.predict_lead_minutes, as_of)
        if read.inputs is None:
            raise _no_games_in(runtime_for(settings).engine(), game_date)
        return Slate.from_frame(features_for(read.inputs, read.targets, read.as_of))
    targets = slate_targets(season, game_date)
    if targets.empty:
        raise NotFound(no_games(_calendar(season.games, game_date), game_date))
    moment = as_of if as_of is not None else slate_as_of(season.games, game_date, settings.predict_lead_minutes)
    history = final_before(season.player_games, moment)
    frame = build_feature_frame(history, season.betting_line_snapshots, season.teams, targets, moment)
    return Slate.from_frame(frame)


def no_games(calendar: dict[str, Any], game_date: date) -> str:
    """Why ``game_date`` has no slate, from the season's calendar around it (``GAME_CALENDAR``'s
    columns): a day without games inside the season (the All-Star break, Christmas Eve), a day
    outside it, or no season data at all (then, and only then, generate it)."""
    from common.data.store import NO_DATA_HINT

    first, last = calendar.get("first_date"), calendar.get("last_date")
    if first is None or last is None:
        return f"no games on {game_date}: the registry holds no season data ({NO_DATA_HINT})"
    if not first <= game_date <= last:
        return f"no games on {game_date}: it is outside the season data (games from {first} to {last})"
    if calendar.get("on_day"):
        return f"no games on {game_date} with a player expected to play (every listed player is ruled out)"
    near = " and ".join(str(d) for d in (calendar.get("before_date"), calendar.get("after_date")) if d is not None)
    return f"no games on {game_date}: no games are scheduled that day (the nearest game dates are {near})"


def _calendar(games: pd.DataFrame, game_date: date) -> dict[str, Any]:
    """``GAME_CALENDAR``'s answer from a loaded games table (a backfill's season in memory)."""
    played = sorted({d.date() for d in pd.to_datetime(games["game_date"])}) if len(games) else []
    if not played:
        return {}
    return {
        "first_date": played[0],
        "last_date": played[-1],
        "before_date": max((d for d in played if d < game_date), default=None),
        "after_date": min((d for d in played if d > game_date), default=None),
        "on_day": game_date in played,
    }


def _no_games_in(engine: Any, game_date: date) -> NotFound:
    from common.data.queries import GAME_CALENDAR

    row = engine.query(GAME_CALENDAR, {"day": game_date})[0]
    calendar = {k: (pd.Timestamp(v).date() if k != "on_day" and v is not None else v) for k, v in row.items()}
    return NotFound(no_games(calendar, game_date))


def champions_of(settings: Settings, game_date: date) -> list[str]:
    """The model(s) whose predictions were the champion's for ``game_date``'s games (newest first):
    who the picks came from when those games were played, whenever the audit trail says it was promoted."""
    rows = runtime_for(settings).engine().query(q.CHAMPION_OF_GAME_DATE, {"game_date": game_date})
    return [str(r["system_id"]) for r in rows]


def store_predictions(settings: Settings, game_date: date, rows: pd.DataFrame, system_ids: Sequence[str]) -> None:
    """Replace the date's predictions of ``system_ids`` (the models scored) with ``rows``, in one
    transaction: re-runs never duplicate, and a model not scored keeps its rows."""
    frame = rows.copy()
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    delete = (q.DELETE_PREDICTIONS, {"game_date": game_date, "system_ids": Param(sorted(system_ids), "ARRAY")})
    runtime_for(settings).engine().write_frame(PREDICTIONS_TABLE, frame, delete)
