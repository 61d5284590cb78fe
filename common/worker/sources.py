"""Where a worker learns what to serve, in order of preference.

1. the serving manifest in the models bucket (what ``on_registry_change`` writes);
2. the registry itself (when no manifest was written yet, or the bucket is unreadable);
3. the last manifest this worker cached on disk;
4. the built-in list (``common/registry/builtin_models.json``).

The chain is walked by ``common.registry.fallback.which_models``, the same function
grading asks. The worker logs what it loaded once per reload: ``Loaded N models (X
from registry, Y from built-in)``, where manifest and cached manifest count as registry.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import AppError, InvalidModel
from common.manifest import MANIFEST_OBJECT, Manifest, ManifestModel, build_models, read_manifest
from common.registry.fallback import BUILTIN, which_models

if TYPE_CHECKING:
    from common.runtime import Runtime
    from common.storage import Bucket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """The models to serve and where the list came from."""

    generation: int
    source: str
    entries: tuple[ManifestModel, ...]


def cached_manifest_path(cache_dir: Path) -> Path:
    return cache_dir / "last-manifest.json"


class ManifestWatch:
    """The serving manifest, followed by its object's version: each look is one metadata request
    (GCS: the object's generation; a folder bucket: a ``stat``), on the runtime's bucket; the
    manifest is downloaded only when that version moved."""

    def __init__(self, bucket: Callable[[], Bucket]) -> None:
        self._bucket = bucket  # the runtime's (built once; a bad MODEL_BUCKET_URL fails each look)
        self._seen: tuple[str, Manifest | None] | None = None  # (object version, its manifest)

    def current(self) -> Manifest | None:
        """The serving manifest, cheaply (None if unreadable or absent)."""
        try:
            bucket = self._bucket()
            version = bucket.version(MANIFEST_OBJECT)
        except (AppError, OSError):  # absent (none written yet) or unreachable: the chain decides
            return None
        seen = self._seen
        if seen is not None and seen[0] == version:
            return seen[1]
        try:
            self._seen = (version, read_manifest(bucket)[0])
        except InvalidModel as exc:  # malformed: not downloaded again until it is rewritten
            log.warning("serving manifest unreadable: %s", exc)
            self._seen = (version, None)
        except (AppError, OSError):
            return None
        return self._seen[1]


def resolve_plan(runtime: Runtime, cache_dir: Path, already_read: Manifest | None = None) -> Plan:
    """Walk the chain until a source answers (``which_models``); cache a good manifest on disk.

    ``already_read``: the manifest the caller just read (the poller), used as it is rather
    than read from the bucket again."""

    def manifest() -> Plan | None:
        found = already_read or read_manifest(runtime.bucket())[0]
        if found is None:
            return None  # none written yet: ask the registry
        _remember(found, cache_dir)
        return Plan(found.generation, "manifest", found.models)

    def registry() -> Plan:
        return Plan(0, "registry", build_models(runtime.registry().list(enabled=True)))

    def cached() -> Plan | None:
        path = cached_manifest_path(cache_dir)
        if not path.exists():
            return None
        remembered = Manifest.from_json(path.read_bytes())
        return Plan(remembered.generation, "cached manifest", remembered.models)

    chain = [("manifest", manifest), ("registry", registry), ("cached manifest", cached)]
    return which_models(chain, lambda records: Plan(-1, BUILTIN, build_models(records))).value


def _remember(manifest: Manifest, cache_dir: Path) -> None:
    """Keep the manifest for a later outage; failing to is worth a warning, not a fallback.

    Workers on one machine share the cache: each writes its own temporary file and
    renames it into place, so concurrent writers never trip over each other.
    """
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".last-manifest.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(manifest.to_json())
        tmp.replace(cached_manifest_path(cache_dir))
    except OSError as exc:
        log.warning("cannot cache the manifest in %s (set MODEL_CACHE_DIR): %s", cache_dir, exc)
