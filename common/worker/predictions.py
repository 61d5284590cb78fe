"""Slate features in, ``player_prop_predictions`` rows out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd

from common.errors import NotFound
from common.settings import Settings
from common.sql import Param, open_engine
from common.worker import queries as q
from common.worker.slate import Slate

PREDICTIONS_TABLE = "player_prop_predictions"


def slate_features(settings: Settings, game_date: date) -> Slate:
    """Features for every player expected to play on ``game_date``: one vectorised pass, kept as
    the worker's float32 matrix."""
    from common.data.store import load_season
    from common.features import build_feature_frame, slate_targets

    season = load_season(open_engine(settings.registry_url))
    targets = slate_targets(season, game_date)
    if targets.empty:
        raise NotFound(f"no games on {game_date} in the season data (`modelctl data generate` first?)")
    return Slate.from_frame(build_feature_frame(season.player_games, season.betting_lines, season.teams, targets))


def store_predictions(settings: Settings, game_date: date, rows: pd.DataFrame, system_ids: Sequence[str]) -> None:
    """Replace the date's predictions of ``system_ids`` (the models scored) with ``rows``, in one
    transaction: re-runs never duplicate, and a model not scored keeps its rows."""
    frame = rows.copy()
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    delete = (q.DELETE_PREDICTIONS, {"game_date": game_date, "system_ids": Param(sorted(system_ids), "ARRAY")})
    open_engine(settings.registry_url).write_frame(PREDICTIONS_TABLE, frame, delete)
