"""Registry storage: SQL ↔ domain objects, migrations and the schema check.

Rules (who may be promoted, single champion...) live in ``service.py``; this
module only reads and writes rows through an engine, atomically.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from common.errors import ConfigError, MissingDatabase, MissingTable, NotFound
from common.registry import queries as q
from common.registry.model import (
    Activity,
    ModelRecord,
    Promotion,
    RegistryEvent,
    RegistryVersion,
    Rejection,
    bigquery_types,
    from_row,
)
from common.sql import (
    Engine,
    Param,
    Statement,
    latest_migration_version,
    migration_files,
    open_engine,
    split_statements,
)

log = logging.getLogger(__name__)

_TYPES = {
    ModelRecord: bigquery_types(ModelRecord),
    RegistryEvent: bigquery_types(RegistryEvent),
    Rejection: bigquery_types(Rejection),
    Promotion: bigquery_types(Promotion),
}


def typed_params(obj: Any) -> dict[str, Param]:
    """Every field of a domain object as a typed parameter."""
    types = _TYPES[type(obj)]
    return {f.name: Param(getattr(obj, f.name), types[f.name]) for f in fields(obj)}


class RegistryStore:
    """Reads and atomic writes of the registry tables on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> RegistryStore:
        return cls(open_engine(url))

    @property
    def url(self) -> str:
        return self.engine.url

    # -- schema --------------------------------------------------------------------------
    def applied_versions(self, missing_ok: bool = True) -> set[int]:
        """The migration versions recorded; none on a registry not created yet (unless not ``missing_ok``)."""
        try:
            rows = self.engine.query(q.APPLIED_VERSIONS)
        except MissingDatabase:
            if missing_ok:
                return set()
            raise
        except MissingTable:  # no schema_migrations table yet (other configuration errors say what they are)
            return set()
        return {int(r["version"]) for r in rows}

    def schema_version(self) -> int:
        return max(self.applied_versions(), default=0)

    def require_current_schema(self) -> None:
        """Refuse to work on a schema older (or newer) than this code expects."""
        applied = self.applied_versions(missing_ok=False)
        have, want = max(applied, default=0), latest_migration_version()
        missing = sorted({v for v, _, _ in migration_files()} - applied)
        if missing and have >= want:
            names = ", ".join(f"{v:03d}" for v in missing)
            raise ConfigError(f"registry {self.url} lacks migration(s) {names}: run `modelctl migrate`")
        if have < want:
            raise ConfigError(
                f"registry {self.url} is at schema version {have}, this code needs {want}: run `modelctl migrate`"
            )
        if have > want:
            raise ConfigError(
                f"registry {self.url} is at schema version {have}, newer than this code ({want}): upgrade the code"
            )

    def migrate(self, now: datetime, target: int | None = None) -> builtins.list[str]:
        """Apply the pending numbered migrations in order (up to ``target``); return their names."""
        self.engine.apply_migration(0, "schema_migrations", [q.MIGRATIONS_TABLE_DDL])
        done = self.applied_versions()
        applied = []
        for version, name, path in migration_files():
            # Every unrecorded version runs, even one numbered below the newest applied
            # (a migration merged after a later one was already deployed).
            if version in done or (target is not None and version > target):
                continue
            statements = split_statements(path.read_text())
            record = (q.RECORD_MIGRATION, {"version": version, "name": name, "applied_at": now})
            self.engine.apply_migration(version, name, statements, record)  # one unit where the engine allows
            log.info("applied migration %s", name, extra={"migration": name, "registry": self.url})
            applied.append(name)
        return applied

    # -- reads ---------------------------------------------------------------------------
    def find(self, model_id: str) -> ModelRecord | None:
        rows = self.engine.query(q.GET_MODEL, {"model_id": model_id})
        return from_row(ModelRecord, rows[0]) if rows else None

    def get(self, model_id: str) -> ModelRecord:
        record = self.find(model_id)
        if record is None:
            raise NotFound(f"no model {model_id!r} in the registry (see `modelctl list`)")
        return record

    def list(self, family: str | None = None, enabled: bool | None = None) -> builtins.list[ModelRecord]:
        params = {"family": Param(family, "STRING"), "enabled": Param(enabled, "BOOL")}
        return [from_row(ModelRecord, r) for r in self.engine.query(q.LIST_MODELS, params)]

    def find_by_sha(self, sha256: str) -> builtins.list[ModelRecord]:
        return [from_row(ModelRecord, r) for r in self.engine.query(q.FIND_BY_SHA, {"sha256": sha256})]

    def find_by_source(self, bucket: str, name: str, generation: str) -> ModelRecord | None:
        params = {"bucket": bucket, "object": name, "generation": generation}
        rows = self.engine.query(q.FIND_BY_SOURCE, params)
        return from_row(ModelRecord, rows[0]) if rows else None

    def events(self, model_id: str | None = None, until: datetime | None = None) -> builtins.list[RegistryEvent]:
        params = {"model_id": Param(model_id, "STRING"), "until": Param(until, "TIMESTAMP")}
        return [from_row(RegistryEvent, r) for r in self.engine.query(q.LIST_EVENTS, params)]

    def version(self) -> RegistryVersion:
        row = self.engine.query(q.REGISTRY_VERSION)[0]
        return RegistryVersion(int(row["events"] or 0), row["last_event_id"])

    def has_event(self, event_id: str) -> bool:
        return int(self.engine.query(q.HAS_EVENT, {"event_id": Param(event_id, "STRING")})[0]["n"]) > 0

    def champion_events_at(self, until: datetime) -> builtins.list[RegistryEvent]:
        rows = self.engine.query(q.CHAMPION_AT, {"until": until})
        return [from_row(RegistryEvent, r) for r in rows]

    def promotions(self, model_id: str | None = None) -> builtins.list[Promotion]:
        rows = self.engine.query(q.LIST_PROMOTIONS, {"model_id": Param(model_id, "STRING")})
        return [from_row(Promotion, r) for r in rows]

    def rejections(self, limit: int = 50) -> builtins.list[Rejection]:
        return [from_row(Rejection, r) for r in self.engine.query(q.LIST_REJECTIONS, {"limit": limit})]

    def activity(self, family: str | None, limit: int, offset: int = 0) -> builtins.list[Activity]:
        """One page of the registry-wide feed (``queries.ACTIVITY``), newest first."""
        params = {"family": Param(family, "STRING"), "limit": limit, "offset": offset}
        return [from_row(Activity, r) for r in self.engine.query(q.ACTIVITY, params)]

    def has_rejection(self, rejection: Rejection) -> bool:
        params = {
            "source_uri": rejection.source_uri,
            "source_generation": Param(rejection.source_generation, "STRING"),
            "sha256": Param(rejection.sha256, "STRING"),
        }
        return int(self.engine.query(q.FIND_REJECTION, params)[0]["n"]) > 0

    def objectives(self) -> dict[str, str]:
        """Each family's declared objective (families without one are absent)."""
        return {str(r["family"]): str(r["objective"]) for r in self.engine.query(q.FAMILY_OBJECTIVES)}

    # -- writes (each one atomic) --------------------------------------------------------
    def set_objective(self, family: str, objective: str, event: RegistryEvent) -> None:
        """Record a family's new objective and its audit event in one unit."""
        params = {"family": family, "objective": objective, "reason": Param(event.reason, "STRING"),
                  "set_by": Param(event.actor, "STRING"), "set_at": event.occurred_at}  # fmt: skip
        self.engine.run_atomic([(q.INSERT_FAMILY_OBJECTIVE, params), (q.INSERT_EVENT, typed_params(event))])

    def insert_model(self, record: ModelRecord, event: RegistryEvent) -> None:
        self.engine.run_atomic(
            [
                (q.GUARD_ABSENT, {"model_id": record.model_id}),
                (q.GUARD_SHA_FREE, {"sha256": record.sha256 or ""}),
                (q.INSERT_MODEL, typed_params(record)),
                (q.INSERT_EVENT, typed_params(event)),
            ]
        )

    def apply_changes(
        self,
        changes: Sequence[tuple[ModelRecord, ModelRecord]],
        events: Sequence[RegistryEvent],
        promotion: Promotion | None = None,
    ) -> None:
        """Write state changes (before, after), their audit events (and a promotion's evidence) in one unit."""
        statements: builtins.list[Statement] = []
        for before, after in changes:
            statements.append((q.GUARD_VERSION, {"model_id": before.model_id, "row_version": before.row_version}))
            statements.append(
                (
                    q.UPDATE_STATE,
                    {
                        "model_id": before.model_id,
                        "row_version": before.row_version,
                        "enabled": after.enabled,
                        "status": after.status,
                        "retired_reason": Param(after.retired_reason, "STRING"),
                        "updated_at": after.updated_at,
                    },
                )
            )
        if any(after.is_champion for _, after in changes):
            champion = next(after for _, after in changes if after.is_champion)
            statements.append((q.GUARD_NO_OTHER_CHAMPION, {"model_id": champion.model_id}))
        statements.extend((q.INSERT_EVENT, typed_params(e)) for e in events)
        if promotion is not None:
            statements.append((q.INSERT_PROMOTION, typed_params(promotion)))
        self.engine.run_atomic(statements)

    def reregister(self, before: ModelRecord, after: ModelRecord, event: RegistryEvent) -> None:
        params = {
            "model_id": before.model_id,
            "row_version": before.row_version,
            "model_path": after.model_path,
            "source_bucket": Param(after.source_bucket, "STRING"),
            "source_object": Param(after.source_object, "STRING"),
            "source_generation": Param(after.source_generation, "STRING"),
            "registered_by": Param(after.registered_by, "STRING"),
            "updated_at": after.updated_at,
        }
        self.engine.run_atomic(
            [
                (q.GUARD_VERSION, {"model_id": before.model_id, "row_version": before.row_version}),
                (q.REREGISTER, params),
                (q.INSERT_EVENT, typed_params(event)),
            ]
        )

    def insert_rejection(self, rejection: Rejection) -> None:
        self.engine.run_atomic([(q.INSERT_REJECTION, typed_params(rejection))])

    def close(self) -> None:
        self.engine.close()
