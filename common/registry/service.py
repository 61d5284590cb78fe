"""The registry's rules, enforced once, above every engine.

* a new model is registered disabled, as a shadow;
* at most one champion; promoting demotes the old champion to shadow in the
  same transaction;
* only an enabled, non-retired model can be promoted, and only over a champion when the
  evidence (grading's comparison, from the injected provider) supports it, or when forced
  with a reason; the audit keeps whether it was forced and the evidence it relied on;
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from common.errors import Conflict, InvalidArgument, NotFound
from common.registry import limits
from common.registry.model import (
    DEFAULT_OBJECTIVE,
    ModelRecord,
    Promotion,
    PromotionEvidence,
    RegistryEvent,
    RegistryVersion,
    Rejection,
    Status,
    check_objective,
)
from common.registry.store import RegistryStore
from common.storage import StoredObject

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
#: (model to promote, the registry's models, each family's objective) → the comparison with the
#: champion, or None
EvidenceProvider = Callable[[str, Sequence[ModelRecord], Mapping[str, str]], PromotionEvidence | None]


class RegistryService:
    """Lifecycle operations on models, with the invariants above."""

    def __init__(
        self,
        store: RegistryStore,
        actor: str = "unknown",
        clock: Callable[[], datetime] | None = None,
        evidence: EvidenceProvider | None = None,
    ):
        self._store = store
        self.actor = actor
        self.clock = clock or _Clock()
        self._evidence = evidence
        self._listeners: builtins.list[Listener] = []

    @classmethod
    def open(
        cls, url: str, actor: str = "unknown", evidence: EvidenceProvider | None = None, check_schema: bool = True
    ) -> RegistryService:
        """The service on the registry at ``url`` (refusing an out-of-date schema unless told not to)."""
        store = RegistryStore.open(url)
        if check_schema:
            store.require_current_schema()
        return cls(store, actor=actor, evidence=evidence)

    @property
    def url(self) -> str:
        return self._store.url

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # -- schema --------------------------------------------------------------------------
    def migrate(self) -> builtins.list[str]:
        """Apply the pending migrations (the only operation that creates a registry)."""
        return self._store.migrate(self.clock())

    def schema_version(self) -> int:
        return self._store.schema_version()

    # -- reads ---------------------------------------------------------------------------
    def get(self, model_id: str) -> ModelRecord:
        return self._store.get(model_id)

    def list(self, family: str | None = None, enabled: bool | None = None) -> builtins.list[ModelRecord]:
        return self._store.list(family=family, enabled=enabled)

    def find(self, model_id: str) -> ModelRecord | None:
        return self._store.find(model_id)

    def find_by_sha(self, sha256: str) -> builtins.list[ModelRecord]:
        """Every row with these bytes (a retired one may be re-registered), oldest first."""
        return self._store.find_by_sha(sha256)

    def find_by_source(self, bucket: str, name: str, generation: str) -> ModelRecord | None:
        return self._store.find_by_source(bucket, name, generation)

    def version(self) -> RegistryVersion:
        """The registry's state as a version (what the serving manifest records it was built from)."""
        return self._store.version()

    def holds(self, version: RegistryVersion) -> bool:
        """Whether this registry has been at ``version`` (its last event is in the audit trail): a
        manifest built from a state it never held (a registry restored from a backup, another
        registry's bucket) is not newer than it, whatever its event count."""
        return version.last_event_id is not None and self._store.has_event(version.last_event_id)

    def champion(self) -> ModelRecord | None:
        return next((m for m in self._store.list() if m.is_champion), None)

    def events(self, model_id: str | None = None, until: datetime | None = None) -> builtins.list[RegistryEvent]:
        """The audit trail (one model's, or everyone's), oldest first."""
        return self._store.events(model_id=model_id, until=until)

    def rejections(self, limit: int = 50) -> builtins.list[Rejection]:
        """Models that could not enter, newest first."""
        return self._store.rejections(limit=limit)

    def champion_at(self, day: date) -> str | None:
        """Which model was champion at the end of ``day`` (UTC)."""
        if day == date.max:  # no day after it: its last instant
            until = datetime.combine(day, time.max, tzinfo=UTC)
        else:
            until = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
        events = self._store.champion_events_at(until)
        return events[0].model_id if events else None

    # -- transitions ---------------------------------------------------------------------
    def enable(self, model_id: str, reason: str | None = None) -> ModelRecord:
        limits.reason(reason)
        record = self._store.get(model_id)
        if record.is_retired:
            raise Conflict(f"{model_id} is retired; retired models never serve again unless re-registered")
        if record.enabled:
            return record
        return self._change("enabled", record, replace(record, enabled=True), reason)

    def disable(self, model_id: str, reason: str | None = None) -> ModelRecord:
        limits.reason(reason)
        record = self._store.get(model_id)
        if record.is_champion:
            raise Conflict(f"{model_id} is the champion; promote another model before disabling it")
        if not record.enabled:
            return record
        return self._change("disabled", record, replace(record, enabled=False), reason)

    def retire(self, model_id: str, reason: str) -> ModelRecord:
        if not reason or not reason.strip():
            raise InvalidArgument("retire needs a reason (--reason TEXT): it goes into the audit trail")
        limits.reason(reason)
        record = self._store.get(model_id)
        if record.is_champion:
            raise Conflict(f"{model_id} is the champion; promote another model before retiring it")
        if record.is_retired:
            return record
        after = replace(record, enabled=False, status=Status.RETIRED.value, retired_reason=reason.strip())
        return self._change("retired", record, after, reason)

    def promote(self, model_id: str, reason: str | None = None, force: bool = False) -> ModelRecord:
        """Make ``model_id`` the champion: only on evidence, or forced with a reason (audited)."""
        limits.reason(reason)
        record = self._store.get(model_id)
        if record.is_retired:
            raise Conflict(f"{model_id} is retired and cannot be promoted; re-register it first")
        if not record.enabled:
            raise Conflict(
                f"{model_id} is disabled; only an enabled model can be promoted (`modelctl enable {model_id}`)"
            )
        if record.is_champion:
            return record
        old = self.champion()
        evidence = self._evidence_for(model_id, old)
        forced = evidence is not None and not evidence.sufficient
        if evidence is not None and forced:
            reason = self._forced_reason(model_id, evidence, force, reason)
        now = self.clock()
        changes, events = [], []
        if old is not None:
            demoted = replace(old, status=Status.SHADOW.value, updated_at=now)
            changes.append((old, demoted))
            events.append(self._event("demoted", old, demoted, reason or f"replaced by {model_id}", now))
            now = self.clock()
        promoted = replace(record, status=Status.CHAMPION.value, updated_at=now)
        changes.append((record, promoted))
        events.append(self._event("promoted", record, promoted, reason, now))
        proof = Promotion(
            event_id=events[-1].event_id,
            model_id=model_id,
            previous_champion=old.model_id if old else None,
            forced=forced,
            verdict=evidence.verdict if evidence else None,
            finding=evidence.finding if evidence else None,
            rule=evidence.rule if evidence else None,
            evidence_json=evidence.details_json if evidence else None,
            promoted_at=now,
        )
        self._store.apply_changes(changes, events, proof)
        # The team hears the verdict the promotion stood on (a forced reason already carries it).
        told = f"{reason or ''} (compare: {evidence.verdict})".strip() if evidence and not forced else reason
        self._announce("promoted", tuple(m.model_id for m, _ in changes), now, told)
        return self._store.get(model_id)

    def promotions(self, model_id: str | None = None) -> builtins.list[Promotion]:
        """Each promotion with whether it was forced and the evidence it relied on."""
        return self._store.promotions(model_id)

    def _evidence_for(self, model_id: str, champion: ModelRecord | None) -> PromotionEvidence | None:
        """The comparison with the current champion; None when there is no champion to beat.

        Without a provider there is no evidence, and a champion can only be replaced by force.
        """
        if champion is None:
            return None
        if self._evidence is not None:
            return self._evidence(model_id, self._store.list(), self._store.objectives())
        return PromotionEvidence(
            sufficient=False,
            verdict="no evidence",
            finding="no comparison is available to this registry service",
            rule="promote over a champion only on compare's evidence",
            champion_id=champion.model_id,
        )

    @staticmethod
    def _forced_reason(model_id: str, evidence: PromotionEvidence, force: bool, reason: str | None) -> str:
        """Refuse a promotion the evidence does not support unless forced with a reason."""
        if not force or not (reason and reason.strip()):
            raise Conflict(
                f"compare says the evidence is insufficient to promote {model_id} over "
                f"{evidence.champion_id} ({evidence.verdict}: {evidence.finding}); rule: {evidence.rule}; "
                "pass --force --reason TEXT to promote anyway"
            )
        log.warning("promotion forced past compare: %s", evidence.finding, extra={"model_id": model_id})
        return f"forced past compare ({evidence.verdict}: {evidence.finding}): {reason.strip()}"

    # -- objectives ----------------------------------------------------------------------
    def objectives(self) -> dict[str, str]:
        """Each family's declared objective; a family absent here has ``DEFAULT_OBJECTIVE``."""
        return self._store.objectives()

    def set_objective(self, family: str, objective: str, reason: str) -> str:
        """Declare what ``family`` is judged on (``mae`` | ``clv`` | ``roi``), with an audit event
        (model id ``family_<family>``); returns the objective in force. A no-op when unchanged."""
        if not reason or not reason.strip():
            raise InvalidArgument("objective set needs a reason (--reason TEXT): it goes into the audit trail")
        limits.reason(reason)
        objective = check_objective(objective)
        if not any(m.model_family == family for m in self._store.list(family=family)):
            raise NotFound(f"no model of family {family!r} in the registry (see `modelctl list`)")
        before = self._store.objectives().get(family, DEFAULT_OBJECTIVE)
        if before == objective:
            return objective
        now = self.clock()
        event = RegistryEvent(
            event_id=f"{now.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}",
            model_id=f"family_{family}",
            action="objective",
            actor=self.actor,
            reason=reason.strip(),
            before_json=json.dumps({"family": family, "objective": before}, sort_keys=True),
            after_json=json.dumps({"family": family, "objective": objective}, sort_keys=True),
            occurred_at=now,
        )
        self._store.set_objective(family, objective, event)
        log.info("objective of %s: %s -> %s", family, before, objective, extra={"family": family, "actor": self.actor})
        return objective

    # -- registration (the registration service decides what; these write it) -------------
    def add(self, record: ModelRecord, reason: str) -> ModelRecord:
        """Insert a newly registered model (disabled) with its audit event, in one unit."""
        now = self.clock()
        record = replace(
            record, enabled=False, status=Status.SHADOW.value, registered_by=self.actor, created_at=now, updated_at=now
        )
        self._store.insert_model(record, self._event("registered", None, record, reason, now))
        self._announce("registered", (record.model_id,), now, reason)
        return self._store.get(record.model_id)

    def reregister(self, retired: ModelRecord, source: StoredObject, reason: str) -> ModelRecord:
        """Bring a retired model back (disabled) from a new upload of the same bytes."""
        now = self.clock()
        after = replace(
            retired,
            enabled=False,
            status=Status.SHADOW.value,
            retired_reason=None,
            model_path=source.uri,
            source_bucket=source.bucket,
            source_object=source.name,
            source_generation=source.generation,
            registered_by=self.actor,
            updated_at=now,
        )
        self._store.reregister(retired, after, self._event("reregistered", retired, after, reason, now))
        self._announce("reregistered", (retired.model_id,), now, reason)
        return self._store.get(retired.model_id)

    def record_rejection(self, rejection: Rejection) -> bool:
        """Keep why a model could not enter, once per object version; False if already kept."""
        rejection = replace(rejection, reason=limits.clip(rejection.reason), actor=self.actor, rejected_at=self.clock())
        if self._store.has_rejection(rejection):
            return False
        self._store.insert_rejection(rejection)
        # Told once per object version, like the row: the registry-change flow notifies the team.
        self._announce("rejected", (rejection.source_uri,), rejection.rejected_at, rejection.reason)
        return True

    def resync(self, model_id: str | None = None, reason: str | None = None) -> None:
        """Announce a model (or, without one, the whole registry) again: a redelivered registration whose
        first announcement may have failed, or a serving manifest found behind the registry."""
        self._announce("resync", (model_id,) if model_id else (), self.clock(), reason)

    # -- helpers -------------------------------------------------------------------------
    def _change(self, action: str, before: ModelRecord, after: ModelRecord, reason: str | None) -> ModelRecord:
        now = self.clock()
        after = replace(after, updated_at=now)
        self._store.apply_changes([(before, after)], [self._event(action, before, after, reason, now)])
        self._announce(action, (before.model_id,), now, reason)
        return self._store.get(before.model_id)

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
