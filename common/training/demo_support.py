"""A real training run sized for ``make demo`` on a two-core machine (seconds, not minutes)."""

from __future__ import annotations

from datetime import timedelta

from common.app import open_registry
from common.data.store import data_range, write_season
from common.data.synth import generate_season
from common.errors import NotFound
from common.registry.naming import parse_family
from common.settings import Settings
from common.training import model as cb
from common.training.pipeline import run_training
from common.training.request import TrainRequest
from common.training.retrain import RETRAIN_EVAL_DAYS
from common.training.trainer import TrainResult

DEMO_ITERATIONS = 150
DEMO_EVAL_DAYS = RETRAIN_EVAL_DAYS  # the window retrain grades on


def train_demo_model(
    settings: Settings,
    family: str = "v12_noveg_q43",
    iterations: int = DEMO_ITERATIONS,
    season: str = "2025-26",
    seed: int = 7,
    progress: cb.Progress = cb.no_progress,
) -> TrainResult:
    """Train ``family`` on the season tables (generated first if empty), gate it, register it disabled.

    Trains on everything before the last three weeks of data and evaluates on those
    weeks against the closing lines (deterministic: same data, same model, same verdict).
    Needs a migrated registry. Returns the result whether or not the gates passed
    (``result.raise_for_gates()`` to insist).
    """
    registry = open_registry(settings)
    engine = registry.store.engine
    try:
        data = data_range(engine)
    except NotFound:
        write_season(engine, generate_season(season, seed))
        data = data_range(engine)
    eval_start = data.last_date - timedelta(days=DEMO_EVAL_DAYS - 1)
    request = TrainRequest.for_family(
        parse_family(family),
        name="demo",
        train_start=data.first_date,
        train_end=eval_start - timedelta(days=1),
        eval_start=eval_start,
        eval_end=data.last_date,
        use_production_lines=True,
        iterations=iterations,
    )
    return run_training(request, settings, progress, registry)
