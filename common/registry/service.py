"""The registry's rules, enforced once, above every engine.

* a new model is registered disabled, as a shadow;
* at most one champion; promoting demotes the old champion to shadow in the
  same transaction;
* only an enabled, non-retired model can be promoted;
* the champion cannot be disabled or retired (promote another model first);
* retired models never serve again unless re-registered;
* every change appends an audit event (who, what, when, why, before → after)
  and is announced to the registered change listeners after it commits.
"""

from __future__ import annotations

import builtins
import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from common.errors import Conflict, InvalidArgument
from common.registry.model import ModelRecord, RegistryEvent, Status
from common.registry.store import RegistryStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistryChange:
    """What listeners (the event bus) hear after a committed change."""

    action: str
    model_ids: tuple[str, ...]
    actor: str
    occurred_at: datetime
    reason: str | None = None  # why, as the audit event records it


class _Clock:
    """UTC now, strictly increasing within the process so audit events order."""

    def __init__(self) -> None:
        self._last = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            now = datetime.now(UTC)
            if now <= self._last:
                now = self._last + timedelta(microseconds=1)
            self._last = now
            return now


Listener = Callable[[RegistryChange], None]


class RegistryService:
    """Lifecycle operations on models, with the invariants above."""

    def __init__(self, store: RegistryStore, actor: str = "unknown", clock: Callable[[], datetime] | None = None):
        self.store = store
        self.actor = actor
        self.clock = clock or _Clock()
        self._listeners: builtins.list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # -- reads ---------------------------------------------------------------------------
    def get(self, model_id: str) -> ModelRecord:
        return self.store.get(model_id)

    def list(self, family: str | None = None, enabled: bool | None = None) -> builtins.list[ModelRecord]:
        return self.store.list(family=family, enabled=enabled)

    def champion(self) -> ModelRecord | None:
        return next((m for m in self.store.list() if m.is_champion), None)

    def champion_at(self, day: date) -> str | None:
        """Which model was champion at the end of ``day`` (UTC)."""
        until = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
        events = self.store.champion_events_at(until)
        return events[0].model_id if events else None

    # -- transitions ---------------------------------------------------------------------
    def enable(self, model_id: str, reason: str | None = None) -> ModelRecord:
        record = self.store.get(model_id)
        if record.is_retired:
            raise Conflict(f"{model_id} is retired; retired models never serve again unless re-registered")
        if record.enabled:
            return record
        return self._change("enabled", record, replace(record, enabled=True), reason)

    def disable(self, model_id: str, reason: str | None = None) -> ModelRecord:
        record = self.store.get(model_id)
        if record.is_champion:
            raise Conflict(f"{model_id} is the champion; promote another model before disabling it")
        if not record.enabled:
            return record
        return self._change("disabled", record, replace(record, enabled=False), reason)

    def retire(self, model_id: str, reason: str) -> ModelRecord:
        if not reason or not reason.strip():
            raise InvalidArgument("retire needs a reason (--reason TEXT): it goes into the audit trail")
        record = self.store.get(model_id)
        if record.is_champion:
            raise Conflict(f"{model_id} is the champion; promote another model before retiring it")
        if record.is_retired:
            return record
        after = replace(record, enabled=False, status=Status.RETIRED.value, retired_reason=reason.strip())
        return self._change("retired", record, after, reason)

    def promote(self, model_id: str, reason: str | None = None) -> ModelRecord:
        record = self.store.get(model_id)
        if record.is_retired:
            raise Conflict(f"{model_id} is retired and cannot be promoted; re-register it first")
        if not record.enabled:
            raise Conflict(
                f"{model_id} is disabled; only an enabled model can be promoted (`modelctl enable {model_id}`)"
            )
        if record.is_champion:
            return record
        now = self.clock()
        changes = []
        events = []
        old = self.champion()
        if old is not None:
            demoted = replace(old, status=Status.SHADOW.value, updated_at=now)
            changes.append((old, demoted))
            events.append(self._event("demoted", old, demoted, reason or f"replaced by {model_id}", now))
            now = self.clock()
        promoted = replace(record, status=Status.CHAMPION.value, updated_at=now)
        changes.append((record, promoted))
        events.append(self._event("promoted", record, promoted, reason, now))
        self.store.apply_changes(changes, events)
        self._announce("promoted", tuple(m.model_id for m, _ in changes), now, reason)
        return self.store.get(model_id)

    # -- helpers -------------------------------------------------------------------------
    def _change(self, action: str, before: ModelRecord, after: ModelRecord, reason: str | None) -> ModelRecord:
        now = self.clock()
        after = replace(after, updated_at=now)
        self.store.apply_changes([(before, after)], [self._event(action, before, after, reason, now)])
        self._announce(action, (before.model_id,), now, reason)
        return self.store.get(before.model_id)

    def _event(
        self, action: str, before: ModelRecord | None, after: ModelRecord, reason: str | None, now: datetime
    ) -> RegistryEvent:
        return RegistryEvent(
            event_id=f"{now.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}",
            model_id=after.model_id,
            action=action,
            actor=self.actor,
            reason=reason,
            before_json=json.dumps(before.state(), sort_keys=True) if before else None,
            after_json=json.dumps(after.state(), sort_keys=True),
            occurred_at=now,
        )

    def new_event(
        self, action: str, before: ModelRecord | None, after: ModelRecord, reason: str | None
    ) -> RegistryEvent:
        """An audit event for a change made elsewhere in ``common`` (registration)."""
        return self._event(action, before, after, reason, after.updated_at or self.clock())

    def _announce(self, action: str, model_ids: tuple[str, ...], now: datetime, reason: str | None = None) -> None:
        log.info(
            "registry change: %s %s",
            action,
            ", ".join(model_ids),
            extra={"action": action, "model_ids": list(model_ids), "actor": self.actor},
        )
        change = RegistryChange(action, model_ids, self.actor, now, reason)
        for listener in self._listeners:
            listener(change)

    announce = _announce
