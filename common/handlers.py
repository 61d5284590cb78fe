"""The services behind the event functions: a typed event and the settings in, an outcome out.

The retry contract (what is acknowledged, what is redelivered) is ``common/runner.py``.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from common.app import open_database, open_registry, registration_service
from common.errors import InvalidEvent, NotFound
from common.events import PubSubMessage, StorageObject
from common.manifest import publish_manifest
from common.notify import SlackPoster, deliver_once
from common.registry.naming import STAGING_PREFIX
from common.reminder import message, staleness
from common.settings import Settings
from common.storage import open_bucket

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
    if not result.changed:
        # A redelivery after a failed publish: announce again (manifest rebuilds are idempotent).
        service.registry.resync(result.record.model_id)
    return f"{result.outcome}:{result.record.model_id}"


# -- on_registry_change --------------------------------------------------------------------
def rebuild_manifest(msg: PubSubMessage, settings: Settings) -> str:
    """Rebuild the serving manifest from the registry."""
    payload = msg.json()
    reason = payload.get("action", "change") if isinstance(payload, dict) else "change"
    registry = open_registry(settings)
    manifest, changed = publish_manifest(registry.list(), open_bucket(settings.bucket_url), reason)
    state = "written" if changed else "unchanged"
    return f"manifest {state}: generation {manifest.generation}, {len(manifest.models)} models"


# -- retrain_reminder ----------------------------------------------------------------------
def on_retrain_reminder(msg: PubSubMessage, settings: Settings) -> str:
    """Post the per-family staleness reminder, at most once per day."""
    payload = msg.json()
    today = _reminder_day(payload, msg)
    registry = open_registry(settings)
    families = staleness(registry.list(), today, settings.reminder_levels)
    stale = [f for f in families if f.days >= settings.reminder_min_days and f.level]
    if not stale and settings.reminder_silent_when_clear:
        return f"all clear ({len(families)} families), silent"
    text, blocks = message(stale, len(families) - len(stale), today)
    poster = SlackPoster(settings.slack_webhook_url)
    result = deliver_once(
        open_database(settings),
        f"retrain_reminder:{today.isoformat()}",
        "retrain_reminder",
        {"stale": [f.family for f in stale]},
        lambda: poster.post(text, blocks),
        datetime.now(UTC),
    )
    return f"{result}: {len(stale)} stale of {len(families)}"


def _reminder_day(payload: Any, msg: PubSubMessage) -> date:
    if isinstance(payload, dict) and payload.get("date"):
        try:
            return date.fromisoformat(str(payload["date"]))
        except ValueError:
            raise InvalidEvent(f"reminder date {payload['date']!r} is not YYYY-MM-DD") from None
    stamp = msg.publish_time or msg.context.time or datetime.now(UTC)
    return stamp.date()
