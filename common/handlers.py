"""The services behind the Cloud Functions, and the one place the retry contract lives.

``run_event`` turns a raw CloudEvent into a typed event, drops stale ones, calls
the service and maps the outcome onto delivery semantics:

* success, or a permanent ``AppError`` → logged and acknowledged (HTTP 2xx);
* a retryable ``AppError`` (``TransientError``; ``ConfigError``, a deployment to
  fix such as "run `modelctl migrate`": events must wait for it, not be lost) or
  anything unexpected → raised, so the platform answers 500 and redelivers until
  the maximum age. Each error class says which it is (``common/errors.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from common.app import open_registry, registration_service
from common.errors import AppError, InvalidEvent, NotFound
from common.events import PubSubMessage, StorageObject
from common.manifest import publish_manifest
from common.notify import SlackPoster, deliver_once
from common.reminder import message, staleness
from common.settings import Settings
from common.storage import open_bucket

log = logging.getLogger(__name__)
E = TypeVar("E", StorageObject, PubSubMessage)


def run_event(raw: Any, parse: Callable[[Any], E], service: Callable[[E, Settings], str]) -> str:
    """Parse, age-check, run; acknowledge permanent failures, raise transient ones."""
    settings = Settings.from_env()
    try:
        event = parse(raw)
    except AppError as exc:
        log.error("dropping malformed event: %s", exc, extra={"reason": str(exc), "outcome": "invalid"})
        return "invalid"
    ctx = event.context
    age = ctx.age_seconds()
    if age is not None and age > settings.max_event_age_seconds:
        log.warning(
            "dropping event %s: %.0f s old, over MAX_EVENT_AGE_SECONDS=%d",
            ctx.event_id,
            age,
            settings.max_event_age_seconds,
            extra={"event_id": ctx.event_id, "outcome": "stale"},
        )
        return "stale"
    try:
        outcome = service(event, settings)
    except AppError as exc:
        if exc.retryable:
            log.warning("failure, will be redelivered: %s", exc, extra={"event_id": ctx.event_id})
            raise
        log.error(
            "permanent failure, acknowledged: %s",
            exc,
            extra={"event_id": ctx.event_id, "reason": str(exc), "outcome": "rejected"},
        )
        return "rejected"
    log.info("event %s: %s", ctx.event_id, outcome, extra={"event_id": ctx.event_id, "outcome": outcome})
    return outcome


# -- register_model ------------------------------------------------------------------------
def on_object_finalized(obj: StorageObject, settings: Settings) -> str:
    """Register a finalized ``.cbm`` as a disabled model (idempotent on bucket/name/generation)."""
    if not obj.name.endswith(".cbm"):
        log.info("ignoring %s: not a .cbm", obj.name, extra={"object": obj.name})
        return "ignored"
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
        service.registry.announce("resync", (result.record.model_id,), service.registry.clock())
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
        registry.store.engine,
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
