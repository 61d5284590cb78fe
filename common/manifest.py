"""The serving manifest: what every prediction worker should serve, in one object.

``on_registry_change`` rebuilds it from the registry and writes it to the models
bucket (``manifests/serving.json``). Its ``generation`` only grows, and only when
the serving set actually changes, so a redelivered message rewrites nothing and
a worker that missed a message converges by reading the object.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from common.errors import InvalidModel, NotFound
from common.registry.model import ModelRecord
from common.storage import Bucket, PreconditionFailed, check_sha256

log = logging.getLogger(__name__)
MANIFEST_OBJECT = "manifests/serving.json"


@dataclass(frozen=True)
class ManifestModel:
    model_id: str
    role: str  # champion | shadow
    model_family: str
    feature_set: str
    model_path: str
    sha256: str | None
    size_bytes: int | None

    def __post_init__(self) -> None:
        # The sha256 names the worker's cache file: checked here, where every entry is built.
        if self.sha256 is not None:
            check_sha256(self.sha256, f"serving entry {str(self.model_id)[:80]!r}")

    @classmethod
    def from_record(cls, m: ModelRecord) -> ManifestModel:
        return cls(m.model_id, m.status, m.model_family, m.feature_set, m.model_path, m.sha256, m.size_bytes)


@dataclass(frozen=True)
class Manifest:
    generation: int
    champion: str | None
    models: tuple[ManifestModel, ...]
    built_at: str
    reason: str

    def same_set(self, other: Manifest | None) -> bool:
        return other is not None and (self.champion, self.models) == (other.champion, other.models)

    def to_json(self) -> str:
        body = asdict(self)
        return json.dumps(body, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        try:
            raw: dict[str, Any] = json.loads(text)
            models = tuple(ManifestModel(**m) for m in raw["models"])
            return cls(int(raw["generation"]), raw.get("champion"), models, raw["built_at"], raw.get("reason", ""))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, InvalidModel) as exc:
            raise InvalidModel(f"serving manifest is malformed: {exc}") from None


def build_models(records: list[ModelRecord]) -> tuple[ManifestModel, ...]:
    """The serving set: enabled, non-retired models, champion first, then by id."""
    serving = [m for m in records if m.serves]
    serving.sort(key=lambda m: (not m.is_champion, m.model_id))
    return tuple(ManifestModel.from_record(m) for m in serving)


def read_manifest(bucket: Bucket) -> tuple[Manifest | None, str]:
    """The current manifest and its object generation (``"0"`` when absent)."""
    try:
        data, info = bucket.read(MANIFEST_OBJECT)
    except NotFound:
        return None, "0"
    return Manifest.from_json(data), info.generation


def publish_manifest(
    records: list[ModelRecord], bucket: Bucket, reason: str, attempts: int = 5
) -> tuple[Manifest, bool]:
    """Write a new manifest if the serving set changed. Returns (manifest, changed)."""
    models = build_models(records)
    champion = next((m.model_id for m in models if m.role == "champion"), None)
    for _ in range(attempts):
        current, object_generation = read_manifest(bucket)
        candidate = Manifest(
            generation=(current.generation + 1) if current else 1,
            champion=champion,
            models=models,
            built_at=datetime.now(UTC).isoformat(),
            reason=reason,
        )
        if candidate.same_set(current):
            return current, False  # type: ignore[return-value]
        try:
            bucket.write(MANIFEST_OBJECT, candidate.to_json().encode(), if_generation_match=object_generation)
        except PreconditionFailed:
            continue  # another writer got there first: re-read and rebuild
        log.info(
            "serving manifest generation %d: %d models, champion %s",
            candidate.generation,
            len(models),
            champion,
            extra={"generation": candidate.generation, "models": [m.model_id for m in models]},
        )
        return candidate, True
    raise PreconditionFailed(f"manifest kept changing under {attempts} attempts; the event will be redelivered")
