"""A registry ready to serve: migrated, a season in its tables, tiny models registered and enabled."""

from __future__ import annotations

from typing import Any

from common.app import open_registry, registration_service
from common.registry.modelfile import ModelCard
from common.settings import Settings
from tests.support.migrated import migrated_store, migrated_with_season
from tests.support.tiny import tiny_model_bytes


def serving_registry(settings: Settings, season: Any, models: dict[str, tuple[ModelCard, int]]) -> dict[str, str]:
    """Each ``key: (card, seed)`` becomes ``models/<key>.cbm``, registered and enabled; ``champion`` is promoted.

    Returns key → model id.
    """
    if season is None:  # a worker that only follows the manifest needs no season
        migrated_store(settings.registry_url).close()
    else:
        migrated_with_season(settings.registry_url, season)
    service = registration_service(settings)
    ids = {}
    for key, (card, seed) in models.items():
        info = service.bucket.write(f"models/{key}.cbm", tiny_model_bytes(card, seed=seed))
        ids[key] = service.register_object(info.name).record.model_id
        service.registry.enable(ids[key])
    open_registry(settings).promote(ids["champion"])
    return ids
