"""Test access below the registry service: its engine and store, for fixtures and store contracts.

Production code reaches the registry only through ``RegistryService`` (and the season,
prediction and grading tables through ``common.app.open_database``); tests that set up
rows by hand or check the store's own guarantees open them here, from the service's URL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from common.registry.model import ModelRecord, PromotionEvidence, RegistryEvent
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.sql import Engine, open_engine


def engine_of(registry: RegistryService) -> Engine:
    return open_engine(registry.url)


def store_of(registry: RegistryService) -> RegistryStore:
    return RegistryStore.open(registry.url)


def hand_event(action: str, before: ModelRecord | None, after: ModelRecord, reason: str) -> RegistryEvent:
    """An audit event built by hand (for writes a test makes below the service)."""
    now = after.updated_at or datetime.now(UTC)
    return RegistryEvent(
        event_id=f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}",
        model_id=after.model_id,
        action=action,
        actor="pytest",
        reason=reason,
        before_json=json.dumps(before.state(), sort_keys=True) if before else None,
        after_json=json.dumps(after.state(), sort_keys=True),
        occurred_at=now,
    )


def supported(registry: RegistryService) -> RegistryService:
    """The same registry with a provider whose evidence always supports promotion, for tests about
    something else than the promotion rule (``test_promotion_rule.py`` covers the rule)."""

    def provide(model_id: str, models: Sequence[ModelRecord], objectives: Mapping[str, str]) -> PromotionEvidence:
        champion = next((m.model_id for m in models if m.is_champion), "")
        return PromotionEvidence(True, "promote", "the test's evidence supports it", "test rule", champion)

    return RegistryService.open(registry.url, actor="pytest", evidence=provide)
