"""Slate features in, ``player_prop_predictions`` rows out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

import pandas as pd

from common.errors import NotFound
from common.runtime import runtime_for
from common.settings import Settings
from common.sql import Param
from common.worker import queries as q
from common.worker.slate import Slate

if TYPE_CHECKING:
    from common.data.synth import SeasonData

PREDICTIONS_TABLE = "player_prop_predictions"


def slate_features(
    settings: Settings, game_date: date, as_of: datetime | None = None, season: SeasonData | None = None
) -> Slate:
    """Features for every player expected to play on ``game_date`` as of a moment: one vectorised
    pass, kept as the worker's float32 matrix.

    The moment is ``as_of``, else the rule of :mod:`common.features.market` (PREDICT_LEAD_MINUTES
    before the slate's first tip-off), for today's slate and a replay of a past date alike. Only
    what was known then is read: box scores final by then, and each prop's latest snapshot at or
    before it. ``season``: the season data already loaded (a backfill reads it once), else read now.
    """
    from common.data.store import load_season
    from common.features import build_feature_frame, slate_targets
    from common.features.market import final_before, slate_as_of

    season = season if season is not None else load_season(runtime_for(settings).engine())
    targets = slate_targets(season, game_date)
    if targets.empty:
        raise NotFound(f"no games on {game_date} in the season data (`modelctl data generate` first?)")
    moment = as_of if as_of is not None else slate_as_of(season.games, game_date, settings.predict_lead_minutes)
    history = final_before(season.player_games, moment)
    frame = build_feature_frame(history, season.betting_line_snapshots, season.teams, targets, moment)
    return Slate.from_frame(frame)


def store_predictions(settings: Settings, game_date: date, rows: pd.DataFrame, system_ids: Sequence[str]) -> None:
    """Replace the date's predictions of ``system_ids`` (the models scored) with ``rows``, in one
    transaction: re-runs never duplicate, and a model not scored keeps its rows."""
    frame = rows.copy()
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    delete = (q.DELETE_PREDICTIONS, {"game_date": game_date, "system_ids": Param(sorted(system_ids), "ARRAY")})
    runtime_for(settings).engine().write_frame(PREDICTIONS_TABLE, frame, delete)
