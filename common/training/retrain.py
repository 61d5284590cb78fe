"""``modelctl retrain``: derive each family's ``train`` run from the registry and the data.

For a family, the configuration comes from its latest (non-retired) model: feature
set, loss and alpha from the family, and the length of that model's training
window. The new run evaluates on the last ``eval_days`` days of data (graded at the
lines as of the lead time, as production bets) and trains on the window of the same
length that ends the day before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from common.app import open_database
from common.data.season import SeasonData
from common.data.store import DataRange, load_season
from common.errors import AppError, InvalidArgument, NotFound
from common.registry.model import ModelRecord
from common.registry.naming import parse_family
from common.registry.service import RegistryService
from common.settings import Settings
from common.training import model as cb
from common.training.pipeline import run_training
from common.training.request import DEFAULT_ITERATIONS, TrainRequest
from common.training.trainer import TrainResult

log = logging.getLogger(__name__)

RETRAIN_EVAL_DAYS = 21  # three weekly folds: enough edge-3+ bets for the sample gate


@dataclass(frozen=True)
class RetrainPlan:
    """One family's derived ``train`` run."""

    family: str
    based_on: ModelRecord
    request: TrainRequest

    @property
    def command(self) -> str:
        return self.request.command()


@dataclass(frozen=True)
class RetrainOutcome:
    plan: RetrainPlan
    result: TrainResult | None = None
    error: AppError | None = None
    enabled: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.result is not None and self.result.passed


def latest_model(models: list[ModelRecord], family: str) -> ModelRecord | None:
    """The family's newest non-retired model (by train_end, then registration time)."""
    live = [m for m in models if m.model_family == family and not m.is_retired]
    return max(live, key=lambda m: (m.train_end, str(m.created_at or ""), m.model_id), default=None)


def select_families(registry: RegistryService, family: str | None, every: bool) -> list[str]:
    """``--family F`` (checked) or ``--all``: every family with a non-retired model."""
    if bool(family) == every:
        raise InvalidArgument("give exactly one of --family F or --all")
    models = registry.list()
    if family:
        parse_family(family)
        if latest_model(models, family) is None:
            raise NotFound(f"no {family} model in the registry to retrain from; train one with `modelctl train`")
        return [family]
    families = sorted({m.model_family for m in models if not m.is_retired})
    if not families:
        raise NotFound("no models in the registry to retrain from; train one with `modelctl train`")
    return families


def derive_request(
    record: ModelRecord, data: DataRange, iterations: int | None = None, eval_days: int = RETRAIN_EVAL_DAYS
) -> TrainRequest:
    """The ``train`` run that refreshes ``record``'s family on the latest data."""
    window_days = (record.train_end - record.train_start).days + 1
    eval_end = data.last_date
    eval_start = eval_end - timedelta(days=eval_days - 1)
    train_end = eval_start - timedelta(days=1)
    if train_end < data.first_date:
        raise InvalidArgument(
            f"the data ({data.first_date}..{data.last_date}) is too short to hold out {eval_days} days for evaluation"
        )
    return TrainRequest.for_family(
        parse_family(record.model_family),
        name=f"retrain {record.model_family}",
        train_start=max(data.first_date, train_end - timedelta(days=window_days - 1)),
        train_end=train_end,
        eval_start=eval_start,
        eval_end=eval_end,
        use_production_lines=True,
        iterations=iterations or DEFAULT_ITERATIONS,
    )


def plan_retrain(
    registry: RegistryService, data: DataRange, families: list[str], iterations: int | None = None
) -> list[RetrainPlan]:
    """One plan per family, from its latest model and the latest data date."""
    models = registry.list()
    plans = []
    for family in families:
        record = latest_model(models, family)
        if record is None:
            raise NotFound(f"no {family} model in the registry to retrain from")
        plans.append(RetrainPlan(family, record, derive_request(record, data, iterations)))
    return plans


def run_retrain(
    plans: list[RetrainPlan],
    settings: Settings,
    registry: RegistryService,
    enable: bool = False,
    progress: cb.Progress = cb.no_progress,
) -> list[RetrainOutcome]:
    """Run the plans one after another; a family's failure never stops the next one."""
    season = load_season(open_database(settings))
    outcomes = []
    with progress("retrain", len(plans)) as advance:
        for plan in plans:
            outcomes.append(_run_one(plan, settings, registry, enable, progress, season))
            advance(1)
    return outcomes


def _run_one(
    plan: RetrainPlan,
    settings: Settings,
    registry: RegistryService,
    enable: bool,
    progress: cb.Progress,
    season: SeasonData,
) -> RetrainOutcome:
    try:
        result = run_training(plan.request, settings, progress, registry, season)
    except AppError as exc:
        log.warning("retrain of %s failed: %s", plan.family, exc, extra={"family": plan.family})
        return RetrainOutcome(plan, error=exc)
    record = result.publication.record if result.publication else None
    enabled = False
    if enable and result.passed and record is not None and not record.is_retired:
        record = registry.enable(record.model_id, reason="modelctl retrain --enable: gates passed")
        enabled = record.enabled
    return RetrainOutcome(plan, result, None, enabled)
