"""The composition root: build services from ``Settings``. No clients at import time."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from common import inventory
from common.eventbus import EventBus, open_bus
from common.registry.model import ModelRecord, PromotionEvidence, strict_dumps
from common.registry.registration import RegistrationService
from common.registry.service import EvidenceProvider, RegistryChange, RegistryService
from common.settings import Settings
from common.sql import Engine, open_engine
from common.storage import open_bucket


def open_registry(settings: Settings, check_schema: bool = True, bus: EventBus | None = None) -> RegistryService:
    """The registry service on ``MODEL_REGISTRY_URL``; every committed change is published
    to the registry-change topic of ``EVENT_BUS_URL``; promotions weigh grading's evidence."""
    registry = RegistryService.open(
        settings.registry_url, settings.actor, evidence=promotion_evidence(settings), check_schema=check_schema
    )
    registry.subscribe(change_publisher(settings, bus))
    return registry


def open_database(settings: Settings) -> Engine:
    """The SQL engine behind ``MODEL_REGISTRY_URL``, for the season, prediction and grading tables
    (the registry's own tables are reached only through ``open_registry``)."""
    return open_engine(settings.registry_url)


def promotion_evidence(settings: Settings) -> EvidenceProvider:
    """Grading's paired comparison with the champion, as the registry's promotion evidence."""

    def provide(model_id: str, models: Sequence[ModelRecord]) -> PromotionEvidence | None:
        from common.grading.analysis import promotion_check
        from common.grading.catalog import REGISTRY, Catalog
        from common.grading.compare import VerdictRule
        from common.grading.store import GradingStore

        catalog = Catalog(tuple(models), REGISTRY)
        rule = VerdictRule.from_settings(settings)
        check = promotion_check(GradingStore(open_database(settings)), catalog, model_id, rule)
        if check is None:
            return None
        return PromotionEvidence(
            sufficient=check.sufficient,
            verdict=check.verdict,
            finding=check.reason,
            rule=check.rule,
            champion_id=check.champion.model_id,
            details_json=strict_dumps(check.to_dict(), sort_keys=True),
        )

    return provide


def change_publisher(settings: Settings, bus: EventBus | None = None) -> Callable[[RegistryChange], None]:
    """A listener that announces registry changes on the registry-change topic."""
    holder: list[EventBus] = [bus] if bus is not None else []

    def publish(change: RegistryChange) -> None:
        if not holder:
            holder.append(open_bus(settings))
        holder[0].publish(
            inventory.REGISTRY_CHANGE,
            {
                "action": change.action,
                "model_ids": list(change.model_ids),
                "actor": change.actor,
                "occurred_at": change.occurred_at.isoformat(),
            },
            {"action": change.action},
        )

    return publish


def registration_service(settings: Settings, registry: RegistryService | None = None) -> RegistrationService:
    registry = registry or open_registry(settings)
    return RegistrationService(registry, open_bucket(settings.bucket_url), settings.max_model_bytes)
