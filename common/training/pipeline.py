"""``modelctl train`` as a service: season from the database, train and gate, then publish.

Nothing leaves the process before every gate has passed: a failed gate returns a
result whose ``raise_for_gates()`` raises ``GateFailed``, with nothing uploaded
or registered.
"""

from __future__ import annotations

from dataclasses import replace

from common.app import open_database, open_registry, registration_service
from common.data.season import SeasonData
from common.data.store import load_season
from common.registry.service import RegistryService
from common.settings import Settings
from common.training import model as cb
from common.training.artifacts import publish
from common.training.champion import ReferenceScorer
from common.training.request import TrainRequest
from common.training.trainer import TrainResult, train


def run_training(
    request: TrainRequest,
    settings: Settings,
    progress: cb.Progress = cb.no_progress,
    registry: RegistryService | None = None,
    season: SeasonData | None = None,
) -> TrainResult:
    """Train ``request`` on the season tables; upload and register (disabled) if the gates pass.

    ``season`` saves a reload when several models train on the same data (retrain --all).
    """
    request = replace(request, bet_price=settings.bet_price)  # bets without a price settle at BET_PRICE
    registry = registry or open_registry(settings)
    registration = registration_service(settings, registry)
    season = season if season is not None else load_season(open_database(settings))
    result = train(request, season, ReferenceScorer(registry, registration.bucket), progress)
    if not result.passed:
        return result
    return replace(result, publication=publish(result.request, result.model_bytes, registration))
