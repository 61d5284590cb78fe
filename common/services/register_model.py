"""``register_model``: a finalized ``.cbm`` in the models bucket → a disabled registry row.

The rules (validation, idempotency, rejections) are ``common/registry/registration.py``'s.
"""

from __future__ import annotations

import logging

from common.app import registration_service
from common.errors import NotFound
from common.events import StorageObject
from common.log import bind
from common.registry.naming import STAGING_PREFIX
from common.settings import Settings

log = logging.getLogger(__name__)


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
