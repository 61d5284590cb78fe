"""The composition root: build services from ``Settings``. No clients at import time."""

from __future__ import annotations

from common.errors import AppError, ServingBehind
from common.manifest import ServingLag, serving_lag
from common.registry.registration import RegistrationService
from common.registry.service import RegistryService
from common.runtime import Runtime, runtime_for
from common.settings import Settings
from common.sql import Engine


def open_registry(settings: Settings, check_schema: bool = True) -> RegistryService:
    """The registry service on ``MODEL_REGISTRY_URL``, on the process's runtime (its engine and
    bus: ``common.runtime``); every committed change is published to the registry-change topic
    of ``EVENT_BUS_URL``; promotions weigh grading's evidence."""
    return runtime_for(settings).registry(check_schema=check_schema)


def open_database(settings: Settings) -> Engine:
    """The SQL engine behind ``MODEL_REGISTRY_URL``, for the season, prediction and grading tables
    (the registry's own tables are reached only through ``open_registry``), on the process's runtime."""
    return runtime_for(settings).engine()


def check_serving(settings: Settings, registry: RegistryService, runtime: Runtime | None = None) -> ServingLag:
    """How the serving manifest in ``MODEL_BUCKET_URL`` compares with the registry (on ``runtime``'s
    bucket, default the process's for ``settings``)."""
    try:
        return serving_lag(registry, (runtime or runtime_for(settings)).bucket())
    except (AppError, OSError) as exc:
        cause = ServingBehind.rebuilding(exc)
        raise ServingBehind(f"cannot compare the serving manifest with the registry ({cause.reason})",
                            cause.reason, cause.retryable) from exc  # fmt: skip


def converge_serving(settings: Settings, registry: RegistryService, why: str) -> ServingLag:
    """Repair a serving manifest found behind the registry, without a registry change: announce a
    resync, which the one manifest writer (``on_registry_change``; on ``inprocess://``, this process)
    turns into a rebuild. Returns the lag found (``needs_rebuild``: a resync went out)."""
    lag = check_serving(settings, registry)
    if lag.needs_rebuild:
        registry.resync(reason=f"{why}: {lag.detail}")
    return lag


def registration_service(settings: Settings, registry: RegistryService | None = None) -> RegistrationService:
    registry = registry or open_registry(settings)
    return RegistrationService(registry, runtime_for(settings).bucket(), settings.max_model_bytes)
