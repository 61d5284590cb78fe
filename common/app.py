"""The composition root: build services from ``Settings``. No clients at import time."""

from __future__ import annotations

from collections.abc import Callable

from common import inventory
from common.eventbus import EventBus, open_bus
from common.registry.registration import RegistrationService
from common.registry.service import RegistryChange, RegistryService
from common.registry.store import RegistryStore
from common.settings import Settings
from common.storage import open_bucket


def open_registry(settings: Settings, check_schema: bool = True, bus: EventBus | None = None) -> RegistryService:
    """The registry service on ``MODEL_REGISTRY_URL``; every committed change is published
    to the registry-change topic of ``EVENT_BUS_URL``."""
    store = RegistryStore.open(settings.registry_url)
    if check_schema:
        store.require_current_schema()
    registry = RegistryService(store, actor=settings.actor)
    registry.subscribe(change_publisher(settings, bus))
    return registry


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
