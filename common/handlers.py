"""The services behind the event functions: a typed event and the settings in, an outcome out.

The retry contract (what is acknowledged, what is redelivered) is ``common/runner.py``.
"""

from __future__ import annotations

import logging

from common.app import open_registry, registration_service
from common.errors import AppError, NotFound, ServingBehind
from common.events import RegistryChangeMessage, StorageObject
from common.log import bind
from common.manifest import publish_manifest
from common.registry.naming import STAGING_PREFIX
from common.runtime import runtime_for
from common.settings import Settings

log = logging.getLogger(__name__)


# -- register_model ------------------------------------------------------------------------
def on_object_finalized(obj: StorageObject, settings: Settings) -> str:
    """Register a finalized ``.cbm`` as a disabled model (idempotent on bucket/name/generation)."""
    if not obj.name.endswith(".cbm"):
        log.info("ignoring %s: not a .cbm", obj.name, extra={"object": obj.name})
        return "ignored"
    if obj.name.startswith(STAGING_PREFIX):
        log.info("ignoring %s: staged (under %s), not auto-registered", obj.name, STAGING_PREFIX,
                 extra={"object": obj.name})  # fmt: skip
        return "staged"
    service = registration_service(settings)
    if service.bucket.name != obj.bucket:
        log.info("ignoring gs://%s/%s: not the models bucket %s", obj.bucket, obj.name, settings.bucket_url)
        return "ignored"
    try:
        result = service.register_object(obj.name, obj.generation, obj.size)
    except NotFound as exc:  # overwritten or deleted since the event: its own event covers it
        log.info("object gone: %s", exc, extra={"object": obj.name})
        return "gone"
    bind(model_id=result.record.model_id)
    if not result.changed:
        # A redelivery after a failed publish: announce again (manifest rebuilds are idempotent).
        service.registry.resync(result.record.model_id)
    return f"{result.outcome}:{result.record.model_id}"


# -- on_registry_change --------------------------------------------------------------------
def rebuild_manifest(change: RegistryChangeMessage, settings: Settings) -> str:
    """Rebuild the serving manifest from the registry.

    Whatever stops it (a read-only or unreachable bucket, a busy registry) is ``ServingBehind``:
    retryable when its cause is, so Pub/Sub redelivers, and the publishing command reports
    its committed change as not served yet.
    """
    reason = change.action
    try:
        registry = open_registry(settings)
        version = registry.version()  # before the list: the manifest never claims a state it lacks
        bucket = runtime_for(settings).bucket()
        manifest, changed = publish_manifest(registry.list(), bucket, reason, version, holds=registry.holds)
    except (AppError, OSError) as exc:
        raise ServingBehind.rebuilding(exc) from exc
    state = "written" if changed else "unchanged"
    return (
        f"manifest {state}: generation {manifest.generation}, {len(manifest.models)} models, "
        f"registry version {manifest.registry_version}"
    )
