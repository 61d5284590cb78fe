"""The composition root: build services from ``Settings``. No clients at import time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from common import inventory
from common.errors import AppError, ServingBehind
from common.eventbus import EventBus, InProcessBus
from common.events import RegistryChangeMessage
from common.manifest import ServingLag, serving_lag
from common.registry.model import ModelRecord, PromotionEvidence, strict_dumps
from common.registry.registration import RegistrationService
from common.registry.service import EvidenceProvider, RegistryChange, RegistryService
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


def change_publisher(bus: Callable[[], EventBus]) -> Callable[[RegistryChange], None]:
    """A listener that announces registry changes on the registry-change topic of ``bus()``
    (opened at the first change; inside ``batched_changes()``, once for the whole batch)."""
    holder: list[EventBus] = []

    def publish(change: RegistryChange) -> None:
        if not holder:
            holder.append(bus())
        message = RegistryChangeMessage(
            change.action, change.model_ids, change.actor, change.occurred_at.isoformat(), change.reason
        )
        pending = _BATCH.get()
        if pending is not None:
            pending.append((holder[0], message))
            return
        _deliver(holder[0], message)

    return publish


def _deliver(bus: EventBus, message: RegistryChangeMessage) -> None:
    """Publish one registry-change message; a manifest rebuild that fails behind it (the in-process
    bus runs it here: raised when retryable, acknowledged and reported when permanent) says the
    change itself is committed and how the lag is repaired."""
    heard = len(bus.deliveries) if isinstance(bus, InProcessBus) else 0
    try:
        bus.publish(inventory.REGISTRY_CHANGE, message.body(), {"action": message.action})
    except ServingBehind as exc:
        raise _committed(message, exc) from exc
    for _, delivery in bus.deliveries[heard:] if isinstance(bus, InProcessBus) else []:
        if isinstance(delivery.error, ServingBehind):
            raise _committed(message, delivery.error) from delivery.error


def _committed(message: RegistryChangeMessage, exc: ServingBehind) -> ServingBehind:
    ids = message.model_ids
    if message.action == "resync":
        what = "serving manifest not yet rebuilt"
    elif message.action == "batch":
        what = f"{len(message.changes)} registry changes committed; serving manifest not yet rebuilt"
    else:
        what = f"{message.action} {ids[-1] if ids else ''} committed; serving manifest not yet rebuilt"
    return ServingBehind(
        f"{what} ({exc.reason}); once that is fixed, rerun any registry command (or wait for the nightly "
        "job or a worker's check) to rebuild it; `modelctl workers` shows the lag",
        exc.reason,
        exc.retryable,
    )


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


_Pending = list[tuple[EventBus, RegistryChangeMessage]]
_BATCH: ContextVar[_Pending | None] = ContextVar("registry_change_batch", default=None)


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
    pending: _Pending = []
    token = _BATCH.set(pending)
    try:
        yield
    finally:
        _BATCH.reset(token)
        _publish_batch(pending)


def _publish_batch(pending: _Pending) -> None:
    by_bus: dict[int, tuple[EventBus, list[RegistryChangeMessage]]] = {}
    for bus, message in pending:
        by_bus.setdefault(id(bus), (bus, []))[1].append(message)
    for bus, changes in by_bus.values():
        if len(changes) == 1:
            _deliver(bus, changes[0])
            continue
        ids = tuple(dict.fromkeys(i for c in changes for i in c.model_ids))
        _deliver(bus, RegistryChangeMessage("batch", ids, changes[0].actor, changes[-1].occurred_at,
                                            changes=tuple(changes)))  # fmt: skip


def registration_service(settings: Settings, registry: RegistryService | None = None) -> RegistrationService:
    registry = registry or open_registry(settings)
    return RegistrationService(registry, runtime_for(settings).bucket(), settings.max_model_bytes)
