"""The composition root: build services from ``Settings``. No clients at import time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from common import inventory
from common.errors import AppError, ServingBehind
from common.eventbus import EventBus, open_bus
from common.manifest import ServingLag, serving_lag
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

    def provide(
        model_id: str, models: Sequence[ModelRecord], objectives: Mapping[str, str]
    ) -> PromotionEvidence | None:
        from common.grading.analysis import promotion_check
        from common.grading.catalog import REGISTRY, Catalog
        from common.grading.compare import VerdictRule
        from common.grading.store import GradingStore

        catalog = Catalog(tuple(models), REGISTRY, dict(objectives))
        rule = VerdictRule.from_settings(settings)
        check = promotion_check(GradingStore(open_database(settings)), catalog, model_id, rule)
        if check is None:
            return None
        return PromotionEvidence(
            sufficient=check.sufficient,
            verdict=check.verdict,
            finding=f"{check.reason}; note: {check.note}" if check.note else check.reason,
            rule=check.rule,
            champion_id=check.champion.model_id,
            details_json=strict_dumps(check.to_dict(), sort_keys=True),
        )

    return provide


def change_publisher(settings: Settings, bus: EventBus | None = None) -> Callable[[RegistryChange], None]:
    """A listener that announces registry changes on the registry-change topic
    (inside ``batched_changes()``, once for the whole batch)."""
    holder: list[EventBus] = [bus] if bus is not None else []

    def publish(change: RegistryChange) -> None:
        if not holder:
            holder.append(open_bus(settings))
        payload = {
            "action": change.action,
            "model_ids": list(change.model_ids),
            "actor": change.actor,
            "occurred_at": change.occurred_at.isoformat(),
            "reason": change.reason,
        }
        pending = _BATCH.get()
        if pending is not None:
            pending.append((holder[0], payload))
            return
        _deliver(holder[0], payload)

    return publish


def _deliver(bus: EventBus, payload: dict[str, Any]) -> None:
    """Publish one registry-change message; a manifest rebuild that fails behind it (the in-process
    bus runs it here) says the change itself is committed and how the lag is repaired."""
    try:
        bus.publish(inventory.REGISTRY_CHANGE, payload, {"action": payload["action"]})
    except ServingBehind as exc:
        ids = payload.get("model_ids") or []
        if payload["action"] == "resync":
            what = "serving manifest not yet rebuilt"
        elif payload["action"] == "batch":
            what = f"{len(payload.get('changes', []))} registry changes committed; serving manifest not yet rebuilt"
        else:
            what = f"{payload['action']} {ids[-1] if ids else ''} committed; serving manifest not yet rebuilt"
        raise ServingBehind(
            f"{what} ({exc.reason}); once that is fixed, rerun any registry command (or wait for the nightly "
            "job or a worker's check) to rebuild it; `modelctl workers` shows the lag",
            exc.reason,
            exc.retryable,
        ) from exc


def check_serving(settings: Settings, registry: RegistryService) -> ServingLag:
    """How the serving manifest in ``MODEL_BUCKET_URL`` compares with the registry."""
    try:
        return serving_lag(registry, open_bucket(settings.bucket_url))
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


_BATCH: ContextVar[list[tuple[EventBus, dict[str, Any]]] | None] = ContextVar("registry_change_batch", default=None)


@contextmanager
def batched_changes() -> Iterator[None]:
    """Registry changes made inside are announced as ONE registry-change message at the end.

    A command that changes many models (``retrain --all --enable``) gives one manifest rebuild
    and one summary notification. The changes are committed as they happen; the message goes
    out even when the block fails part-way, so nothing committed goes unannounced.
    """
    if _BATCH.get() is not None:  # nested: the outermost batch announces
        yield
        return
    pending: list[tuple[EventBus, dict[str, Any]]] = []
    token = _BATCH.set(pending)
    try:
        yield
    finally:
        _BATCH.reset(token)
        _publish_batch(pending)


def _publish_batch(pending: list[tuple[EventBus, dict[str, Any]]]) -> None:
    by_bus: dict[int, tuple[EventBus, list[dict[str, Any]]]] = {}
    for bus, payload in pending:
        by_bus.setdefault(id(bus), (bus, []))[1].append(payload)
    for bus, changes in by_bus.values():
        if len(changes) == 1:
            _deliver(bus, changes[0])
            continue
        ids = list(dict.fromkeys(i for c in changes for i in c["model_ids"]))
        batch = {"action": "batch", "model_ids": ids, "actor": changes[0]["actor"],
                 "occurred_at": changes[-1]["occurred_at"], "changes": changes}  # fmt: skip
        _deliver(bus, batch)


def registration_service(settings: Settings, registry: RegistryService | None = None) -> RegistrationService:
    registry = registry or open_registry(settings)
    return RegistrationService(registry, open_bucket(settings.bucket_url), settings.max_model_bytes)
