"""The registration service: a ``.cbm`` in, a disabled registry row (or a rejection) out.

Used by the finalize Cloud Function, ``modelctl register``, ``modelctl watch``
and training. Idempotent: the same object generation, or the same bytes, never
make a second row or a second audit event. A permanent problem is recorded as a
rejection and raised as ``InvalidModel``/``Conflict``; nothing else is written.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from common.errors import AppError, Conflict, InvalidModel, NotFound, TransientError
from common.registry.model import ModelRecord, Rejection, Status
from common.registry.naming import model_id, with_suffix
from common.registry.service import RegistryService
from common.registry.validation import ModelFacts, read_facts
from common.sql import engine_session
from common.storage import Bucket, PreconditionFailed, StoredObject, sha256_hex

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def _one_connection(method: F) -> F:
    """One registry connection for the whole registration (its look-ups, the insert, the audit
    event and the in-process listeners), not one per statement: on the embedded engine each
    connection costs ~30-45 ms to open and close, six or seven of them per model before."""

    @functools.wraps(method)
    def wrapper(self: RegistrationService, *args: Any, **kwargs: Any) -> Any:
        with engine_session(self.registry.url):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class RegistrationResult:
    outcome: str  # "registered" | "already_registered" | "reregistered"
    record: ModelRecord

    @property
    def changed(self) -> bool:
        return self.outcome != "already_registered"


class RegistrationService:
    """Turns model objects into registry rows under the registry's rules."""

    def __init__(self, registry: RegistryService, bucket: Bucket, max_bytes: int) -> None:
        self.registry = registry
        self.bucket = bucket
        self.max_bytes = max_bytes

    # -- entry points --------------------------------------------------------------------
    @_one_connection
    def register_object(self, name: str, generation: str | None = None, size: int | None = None) -> RegistrationResult:
        """Register ``name`` from the models bucket (the finalize event's path)."""
        uri = self.bucket.uri(name)
        if generation is not None:
            existing = self.registry.find_by_source(self.bucket.name, name, generation)
            if existing is not None:
                return RegistrationResult("already_registered", existing)
        if size is not None and size > self.max_bytes:
            self._reject(uri, None, InvalidModel(self._too_big(size)), generation, size)
        data, info = self.bucket.read(name, max_bytes=self.max_bytes)
        if generation is not None and info.generation != str(generation):
            # A newer upload replaced this generation; its own event will register it.
            raise NotFound(f"{uri} generation {generation} is gone (now {info.generation}); nothing to register")
        if info.size > self.max_bytes:
            self._reject(uri, info, InvalidModel(self._too_big(info.size)), info.generation, info.size)
        return self.register_bytes(data, info)

    @_one_connection
    def register_file(self, path: Path) -> RegistrationResult:
        """Validate a local file, copy it into the bucket at its canonical place, register it.

        Nothing is copied unless the file is valid and its bytes are new.
        """
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise NotFound(f"cannot read {path}: {exc.strerror}") from None
        live = self._live_twin(sha256_hex(data))
        if live is not None:
            return RegistrationResult("already_registered", live)
        uri = f"file://{path.resolve()}"
        facts = self._facts_or_reject(data, uri, None, {}, path.name)
        if facts.declared_id:
            self._check_declared_id(facts.declared_id, sha256_hex(data), uri, None)
        target = f"models/{facts.feature_set}/{facts.family}/{path.name}"
        info = self.upload(target, data, {"registered_from": str(path)})
        return self.register_bytes(data, info)

    def upload(self, name: str, data: bytes, metadata: dict[str, str]) -> StoredObject:
        """Put ``data`` in the bucket at ``name``, never over another object.

        A name already taken (two trainings both saved as ``model.cbm``, two runs in one second)
        gets the bytes' sha256 prefix, so a registered model's object is never replaced."""
        try:
            return self.bucket.write(name, data, metadata=metadata, if_generation_match="0")
        except PreconditionFailed:
            stem, dot, ext = name.rpartition(".")
            unique = f"{stem}_{sha256_hex(data)[:12]}{dot}{ext}" if dot else f"{name}_{sha256_hex(data)[:12]}"
            return self.bucket.write(unique, data, metadata=metadata)  # that name holds these bytes or none

    def live_twin(self, data: bytes) -> ModelRecord | None:
        """The serving-or-shadow model with exactly these bytes, if one is registered."""
        return self._live_twin(sha256_hex(data))

    def _live_twin(self, sha: str) -> ModelRecord | None:
        return next((m for m in self.registry.find_by_sha(sha) if not m.is_retired), None)

    @_one_connection
    def register_bytes(self, data: bytes, info: StoredObject, reason: str | None = None) -> RegistrationResult:
        """Register bytes that live at ``info`` in the bucket (``reason`` for the audit trail)."""
        sha = sha256_hex(data)
        twins = self.registry.find_by_sha(sha)
        live = next((m for m in twins if not m.is_retired), None)
        if live is not None:
            log.info(
                "identical bytes already registered as %s",
                live.model_id,
                extra={"model_id": live.model_id, "object": info.uri},
            )
            return RegistrationResult("already_registered", live)
        facts = self._facts_or_reject(data, info.uri, info, info.metadata, info.name)
        if twins:
            return self._reregister(twins[0], info, reason)
        record = self._new_record(facts, sha, len(data), info)
        return self._insert(record, info, reason)

    # -- steps ---------------------------------------------------------------------------
    def _facts_or_reject(
        self, data: bytes, uri: str, info: StoredObject | None, metadata: dict[str, str], name: str
    ) -> ModelFacts:
        if len(data) > self.max_bytes:
            self._reject(uri, info, InvalidModel(self._too_big(len(data))), None, len(data))
        try:
            return read_facts(data, name, metadata)
        except InvalidModel as exc:
            self._reject(uri, info, exc, None, len(data), sha256_hex(data))
            raise  # unreachable: _reject raises

    def _new_record(self, facts: ModelFacts, sha: str, size: int, info: StoredObject) -> ModelRecord:
        """The row to add; the registry stamps who and when, and keeps it disabled."""
        return ModelRecord(
            model_id=self._choose_id(facts, sha, info),
            model_path=info.uri,
            **facts.columns,  # every column a card field fills (common/registry/card.py)
            enabled=False,
            status=Status.SHADOW.value,
            sha256=sha,
            size_bytes=size,
            source_bucket=info.bucket,
            source_object=info.name,
            source_generation=info.generation,
        )

    def _choose_id(self, facts: ModelFacts, sha: str, info: StoredObject) -> str:
        if facts.declared_id:
            self._check_declared_id(facts.declared_id, sha, info.uri, info)
            return facts.declared_id
        base = facts.legacy_id or model_id(facts.family, facts.train_start, facts.train_end)
        return base if self.registry.find(base) is None else with_suffix(base, sha)

    def _check_declared_id(self, declared: str, sha: str, uri: str, info: StoredObject | None) -> None:
        """The same id with different bytes is a conflict (same bytes never get here)."""
        existing = self.registry.find(declared)
        if existing is not None and existing.sha256 != sha:
            error = Conflict(
                f"model id {declared} is already registered with different bytes "
                f"(sha256 {(existing.sha256 or '?')[:12]}…, new {sha[:12]}…); "
                "give the new model its own id, or retire the old one and re-register deliberately"
            )
            self._reject(uri, info, error, info.generation if info else None, info.size if info else None, sha)

    def _insert(self, record: ModelRecord, info: StoredObject, reason: str | None = None) -> RegistrationResult:
        try:
            added = self.registry.add(record, reason or f"registered from {info.uri}")
        except Conflict as exc:
            # A concurrent delivery of the same object won the race: that is success.
            twin = self._live_twin(record.sha256 or "")
            if twin is not None:
                return RegistrationResult("already_registered", twin)
            raise TransientError(f"registering {record.model_id} raced with another registration; retry") from exc
        log.info(
            "registered %s (disabled) from %s",
            added.model_id,
            info.uri,
            extra={"model_id": added.model_id, "object": info.uri, "sha256": added.sha256},
        )
        return RegistrationResult("registered", added)

    def _reregister(self, retired: ModelRecord, info: StoredObject, reason: str | None = None) -> RegistrationResult:
        record = self.registry.reregister(retired, info, reason or f"re-registered from {info.uri}")
        return RegistrationResult("reregistered", record)

    def _too_big(self, size: int) -> str:
        return f"model file is {size:,} bytes, over the {self.max_bytes:,}-byte limit (MAX_MODEL_BYTES)"

    def _reject(
        self,
        uri: str,
        info: StoredObject | None,
        error: AppError,
        generation: str | None,
        size: int | None,
        sha: str | None = None,
    ) -> NoReturn:
        """Record why a model could not enter (once per object version), then raise."""
        rejection = Rejection(
            rejection_id=uuid.uuid4().hex,
            source_uri=uri,
            source_bucket=info.bucket if info else None,
            source_object=info.name if info else None,
            source_generation=(info.generation if info else generation),
            sha256=sha,
            size_bytes=size,
            reason=str(error),
            error_type=type(error).__name__,
            actor="",  # the registry stamps who, when, and bounds the reason
            rejected_at=datetime.now(UTC),
        )
        self.registry.record_rejection(rejection)
        log.warning("rejected %s: %s", uri, error, extra={"object": uri, "reason": str(error)})
        raise error
