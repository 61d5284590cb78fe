"""The serving manifest: what every prediction worker should serve, in one object.

``on_registry_change`` rebuilds it from the registry and writes it to the models
bucket (``manifests/serving.json``). Its ``generation`` only grows, and only when
the serving set actually changes, so a redelivered message rewrites nothing and
a worker that missed a message converges by reading the object.

It also records the registry version it was built from (``RegistryVersion``: the
audit trail's length and its greatest event id), so a manifest left behind by a
failed rebuild is *detectable* (``serving_lag``) and never overwrites a newer one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from common.errors import InvalidModel, NotFound
from common.registry.model import ModelRecord, RegistryVersion
from common.storage import Bucket, PreconditionFailed, check_sha256

if TYPE_CHECKING:
    from common.registry.service import RegistryService

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
    registry_version: int | None = None  # RegistryVersion.events of the registry it was built from
    registry_event: str | None = None  # RegistryVersion.last_event_id of that registry

    def same_set(self, other: Manifest | None) -> bool:
        return other is not None and (self.champion, self.models) == (other.champion, other.models)

    def built_from(self, version: RegistryVersion) -> bool:
        return (self.registry_version, self.registry_event) == (version.events, version.last_event_id)

    def newer_than(self, version: RegistryVersion, holds: Callable[[RegistryVersion], bool] | None = None) -> bool:
        """Built from a later registry state than ``version`` (the audit trail only grows): more
        events, and (given ``holds``, ``RegistryService.holds``) a state this registry has been in,
        not one of a registry restored from a backup since, or of another registry."""
        if self.registry_version is None or self.registry_version <= version.events:
            return False
        return holds is None or holds(RegistryVersion(self.registry_version, self.registry_event))

    def to_json(self) -> str:
        body = asdict(self)
        return json.dumps(body, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        try:
            raw: dict[str, Any] = json.loads(text)
            models = tuple(ManifestModel(**m) for m in raw["models"])
            version = raw.get("registry_version")
            return cls(
                int(raw["generation"]), raw.get("champion"), models, raw["built_at"], raw.get("reason", ""),
                None if version is None else int(version), raw.get("registry_event"),
            )  # fmt: skip
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
    records: list[ModelRecord],
    bucket: Bucket,
    reason: str,
    version: RegistryVersion | None = None,
    attempts: int = 5,
    holds: Callable[[RegistryVersion], bool] | None = None,
) -> tuple[Manifest, bool]:
    """Write a new manifest if the serving set (or the registry version it records) changed.

    ``records`` must have been read *after* ``version``: the manifest then never claims a state
    it does not hold. One built from an older registry state than the current manifest's is not
    written (a slow rebuild never undoes a newer one; ``holds`` tells a newer state from a foreign
    one, see ``Manifest.newer_than``). Returns (manifest, written).
    """
    models = build_models(records)
    champion = next((m.model_id for m in models if m.role == "champion"), None)
    for _ in range(attempts):
        current, object_generation = read_manifest(bucket)
        if current is not None and version is not None and current.newer_than(version, holds):
            return current, False
        candidate = Manifest(
            generation=(current.generation + 1) if current else 1,
            champion=champion,
            models=models,
            built_at=datetime.now(UTC).isoformat(),
            reason=reason,
            registry_version=version.events if version else None,
            registry_event=version.last_event_id if version else None,
        )
        if current is not None and candidate.same_set(current):
            if version is None or current.built_from(version):
                return current, False
            candidate = replace(candidate, generation=current.generation)  # same set: workers reload nothing
        try:
            bucket.write(MANIFEST_OBJECT, candidate.to_json().encode(), if_generation_match=object_generation)
        except PreconditionFailed:
            continue  # another writer got there first: re-read and rebuild
        log.info(
            "serving manifest generation %d (registry version %s): %d models, champion %s",
            candidate.generation,
            candidate.registry_version,
            len(models),
            champion,
            extra={"generation": candidate.generation, "models": [m.model_id for m in models]},
        )
        return candidate, True
    raise PreconditionFailed(f"manifest kept changing under {attempts} attempts; the event will be redelivered")


@dataclass(frozen=True)
class ServingLag:
    """How the serving manifest compares with the registry it should reflect."""

    registry_version: int
    manifest_generation: int | None
    manifest_version: int | None  # the registry version the manifest was built from
    behind: bool  # the manifest serves another set than the registry says
    needs_rebuild: bool  # the manifest does not record the registry's current version
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def serving_lag(registry: RegistryService, bucket: Bucket) -> ServingLag:
    """Compare the manifest with the registry: one version query, one object read, and a model
    list only when the versions differ."""
    version = registry.version()
    manifest, _ = read_manifest(bucket)
    generation = manifest.generation if manifest else None
    built = manifest.registry_version if manifest else None
    if (manifest is not None and manifest.built_from(version)) or (manifest is None and version.events == 0):
        return ServingLag(version.events, generation, built, False, False, "in step with the registry")
    models = build_models(registry.list())
    if manifest is None:
        detail = f"no serving manifest written yet (registry version {version}); workers read the registry"
        return ServingLag(version.events, None, None, False, True, detail)
    if manifest.newer_than(version, registry.holds):  # the registry was read just before a rebuild finished
        return ServingLag(version.events, generation, built, False, False, "in step with the registry")
    behind = manifest.models != models
    was = f"serving manifest generation {generation} (registry version {built if built is not None else 'unknown'})"
    if not behind:
        detail = f"{was} serves what the registry (version {version}) says; only its recorded version differs"
        return ServingLag(version.events, generation, built, False, True, detail)
    return ServingLag(version.events, generation, built, True, True, f"{was} is behind the registry "
                      f"(version {version}): {_difference(manifest.models, models)}")  # fmt: skip


def _difference(served: tuple[ManifestModel, ...], wanted: tuple[ManifestModel, ...]) -> str:
    def champion(models: tuple[ManifestModel, ...]) -> str | None:
        return next((m.model_id for m in models if m.role == "champion"), None)

    parts = []
    if champion(served) != champion(wanted):
        parts.append(f"champion {champion(wanted) or 'none'} in the registry, {champion(served) or 'none'} served")
    have, want = {m.model_id for m in served}, {m.model_id for m in wanted}
    if want - have:
        parts.append(f"not served yet: {', '.join(sorted(want - have))}")
    if have - want:
        parts.append(f"still served: {', '.join(sorted(have - want))}")
    return "; ".join(parts) or "a model's file or role changed"
