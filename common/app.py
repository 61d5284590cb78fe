"""The composition root: build services from ``Settings``. No clients at import time."""

from __future__ import annotations

from common.registry.registration import RegistrationService
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.settings import Settings
from common.storage import open_bucket


def open_registry(settings: Settings, check_schema: bool = True) -> RegistryService:
    """The registry service on the engine ``MODEL_REGISTRY_URL`` names."""
    store = RegistryStore.open(settings.registry_url)
    if check_schema:
        store.require_current_schema()
    return RegistryService(store, actor=settings.actor)


def registration_service(settings: Settings, registry: RegistryService | None = None) -> RegistrationService:
    registry = registry or open_registry(settings)
    return RegistrationService(registry, open_bucket(settings.bucket_url), settings.max_model_bytes)
