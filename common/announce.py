"""Announcing registry changes (the registry-change topic, one message per change or per batch)
and weighing grading's evidence before a promotion: the two listeners the process runtime
(``common.runtime.Runtime.registry``) puts on a writable registry service."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from common import inventory
from common.errors import ServingBehind
from common.eventbus import EventBus, InProcessBus
from common.events import RegistryChangeMessage
from common.registry.model import ModelRecord, PromotionEvidence, strict_dumps
from common.registry.service import EvidenceProvider, RegistryChange
from common.settings import Settings
from common.sql import Engine


def promotion_evidence(settings: Settings, engine: Callable[[], Engine]) -> EvidenceProvider:
    """Grading's paired comparison with the champion (its tables on ``engine()``), as the registry's
    promotion evidence."""

    def provide(
        model_id: str, models: Sequence[ModelRecord], objectives: Mapping[str, str]
    ) -> PromotionEvidence | None:
        from common.grading.analysis import promotion_check
        from common.grading.catalog import REGISTRY, Catalog
        from common.grading.compare import VerdictRule
        from common.grading.store import GradingStore

        catalog = Catalog(tuple(models), REGISTRY, dict(objectives))
        rule = VerdictRule.from_settings(settings)
        check = promotion_check(GradingStore(engine()), catalog, model_id, rule)
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
