"""Typed events: raw CloudEvents in, small frozen dataclasses out.

Malformed input raises one ``InvalidEvent`` with a message a person can act on;
handlers log it and acknowledge (redelivering a malformed event cannot help).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from common.errors import InvalidArgument, InvalidEvent
from common.storage import check_object_name

STORAGE_FINALIZED = "google.cloud.storage.object.v1.finalized"
PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
#: an event stamped further ahead than this is malformed (a wrong clock or a forged time)
MAX_FUTURE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class EventContext:
    """What every CloudEvent carries, whatever its payload."""

    event_id: str
    event_type: str
    source: str
    subject: str | None
    time: datetime | None

    def age_seconds(self, now: datetime | None = None) -> float | None:
        if self.time is None:
            return None
        return ((now or datetime.now(UTC)) - self.time).total_seconds()


@dataclass(frozen=True)
class StorageObject:
    """A finalized object in a bucket (Eventarc's storage CloudEvent data)."""

    context: EventContext
    bucket: str
    name: str
    generation: str
    size: int
    md5_hash: str | None = None
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PubSubMessage:
    """A Pub/Sub message delivered as a messagePublished CloudEvent."""

    context: EventContext
    message_id: str
    data: bytes
    attributes: dict[str, str]
    publish_time: datetime | None
    subscription: str | None

    def json(self) -> Any:
        """The message data parsed as JSON (empty data → ``{}``)."""
        if not self.data:
            return {}
        try:
            return json.loads(self.data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidEvent(f"message {self.message_id} data is not JSON: {exc}") from None


def event_context(event: Any, expected_type: str) -> EventContext:
    """Check the CloudEvent's type and pull out its context attributes."""
    try:
        attrs = event.get_attributes()
    except AttributeError:
        raise InvalidEvent("not a CloudEvent") from None
    event_type = attrs.get("type")
    if event_type != expected_type:
        raise InvalidEvent(f"unexpected event type {event_type!r}; this function handles {expected_type}")
    event_id = attrs.get("id")
    if not event_id:
        raise InvalidEvent("CloudEvent has no id")
    stamp = _time(attrs)
    if stamp is not None and stamp - datetime.now(UTC) > MAX_FUTURE_SKEW:
        raise InvalidEvent(
            f"CloudEvent {event_id} time {stamp.isoformat()} is more than "
            f"{int(MAX_FUTURE_SKEW.total_seconds() // 60)} minutes in the future"
        )
    return EventContext(str(event_id), event_type, str(attrs.get("source", "")), attrs.get("subject"), stamp)


def _time(attrs: Any) -> datetime | None:
    raw = attrs.get("time")
    if not raw:
        return None
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvent(f"CloudEvent time {raw!r} is not an RFC 3339 timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _data_dict(event: Any) -> dict[str, Any]:
    data = event.get_data() if hasattr(event, "get_data") else None
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InvalidEvent("CloudEvent data is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidEvent("CloudEvent data must be a JSON object")
    return data


def parse_storage_event(event: Any) -> StorageObject:
    """A ``google.cloud.storage.object.v1.finalized`` CloudEvent → ``StorageObject``."""
    from google.events.cloud.storage_v1 import StorageObjectData
    from google.protobuf.json_format import ParseError

    context = event_context(event, STORAGE_FINALIZED)
    raw = _data_dict(event)
    for key in ("bucket", "name"):
        if not raw.get(key):
            raise InvalidEvent(f"storage event {context.event_id} has no {key!r}")
    try:
        data = StorageObjectData.from_json(json.dumps(raw), ignore_unknown_fields=True)
    except (ParseError, ValueError, TypeError) as exc:
        raise InvalidEvent(f"storage event {context.event_id} data is malformed: {exc}") from None
    if not data.generation:
        raise InvalidEvent(f"storage event {context.event_id} has no generation")
    return StorageObject(
        context=context,
        bucket=data.bucket,
        name=check_object_name(data.name),
        generation=str(data.generation),
        size=int(data.size),
        md5_hash=data.md5_hash or None,
        content_type=data.content_type or None,
        metadata=dict(data.metadata),
    )


def parse_pubsub_event(event: Any) -> PubSubMessage:
    """A ``google.cloud.pubsub.topic.v1.messagePublished`` CloudEvent → ``PubSubMessage``."""
    context = event_context(event, PUBSUB_PUBLISHED)
    raw = _data_dict(event)
    message = raw.get("message")
    if not isinstance(message, dict):
        raise InvalidEvent(f"Pub/Sub event {context.event_id} has no message object")
    encoded = message.get("data", "")
    if not isinstance(encoded, str):
        raise InvalidEvent(f"Pub/Sub event {context.event_id} data must be a base64 string")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidEvent(f"Pub/Sub event {context.event_id} data is not valid base64") from None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise InvalidEvent(f"Pub/Sub event {context.event_id} attributes must be an object")
    publish_time = _time({"time": message.get("publishTime") or message.get("publish_time")})
    return PubSubMessage(
        context=context,
        message_id=str(message.get("messageId") or message.get("message_id") or context.event_id),
        data=data,
        attributes={str(k): str(v) for k, v in attributes.items()},
        publish_time=publish_time,
        subscription=raw.get("subscription"),
    )


# -- the graded-games message: the producer ↔ update_performance contract ----------------------
#: the nightly safety net's job (Cloud Scheduler): a body naming it and no date means "yesterday"
GRADED_GAMES_NIGHTLY_JOB = "graded-games-nightly"
#: attributes of a graded-games message: ``origin`` (who published: boxscore-ingest, modelctl,
#: cloud-scheduler; optional, for the logs) and ``schema`` (this contract's version; optional)
GRADED_GAMES_SCHEMA = "graded-games/1"
MAX_GRADED_DATES = 400  # per message, and per `modelctl grade` / `publish graded-games` run
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
GRADED_GAMES_ORIGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


@dataclass(frozen=True)
class GradedGames:
    """A graded-games message: the game dates whose results are final."""

    message_id: str
    game_dates: tuple[date, ...]
    origin: str
    scheduled: bool  # the nightly job's "yesterday", not dates a producer named


def graded_games_body(dates: Sequence[date]) -> dict[str, Any]:
    """The JSON body a producer publishes: ``{"game_dates": ["YYYY-MM-DD", ...]}``."""
    if not dates:
        raise InvalidArgument("a graded-games message names at least one game date")
    return {"game_dates": [d.isoformat() for d in sorted(set(dates))]}


def graded_games_attributes(origin: str) -> dict[str, str]:
    """The attributes a producer sets on a graded-games message (``origin``: a short name, logged)."""
    if not GRADED_GAMES_ORIGIN.fullmatch(origin):
        raise InvalidArgument(
            f"graded-games origin {origin!r:.80} must be 1-63 letters, digits, '.', '_' or '-' (e.g. boxscore-ingest)"
        )
    return {"origin": origin, "schema": GRADED_GAMES_SCHEMA}


def parse_graded_games(msg: PubSubMessage, nightly_time_zone: str) -> GradedGames:
    """A graded-games message → ``GradedGames``.

    The body is ``{"game_dates": [...]}`` or (compatibility) ``{"game_date": "YYYY-MM-DD"}``;
    ``{"job": "graded-games-nightly"}`` without dates means the day before the message was
    published, in ``nightly_time_zone`` (the scheduler job's). Anything else is ``InvalidEvent``.
    """
    payload = msg.json()
    if not isinstance(payload, dict):
        raise InvalidEvent('graded-games message must be a JSON object such as {"game_dates": ["2026-02-20"]}')
    if (schema := msg.attributes.get("schema")) and schema != GRADED_GAMES_SCHEMA:
        raise InvalidEvent(
            f"graded-games message {msg.message_id} has schema {schema!r}; expected {GRADED_GAMES_SCHEMA}"
        )
    origin = msg.attributes.get("origin", "unknown")
    raw = payload.get("game_dates", payload.get("game_date"))
    if raw is None and payload.get("job") == GRADED_GAMES_NIGHTLY_JOB:
        return GradedGames(msg.message_id, (_yesterday(msg, nightly_time_zone),), origin, True)
    values = raw if isinstance(raw, list) else [raw] if isinstance(raw, str) and raw else []
    if not values:
        raise InvalidEvent(
            f'graded-games message {msg.message_id} names no date: send {{"game_dates": ["YYYY-MM-DD"]}}'
        )
    if len(values) > MAX_GRADED_DATES:
        raise InvalidEvent(
            f"graded-games message {msg.message_id} names {len(values)} dates; at most {MAX_GRADED_DATES}"
        )
    if not all(isinstance(v, str) and ISO_DAY.fullmatch(v) for v in values):
        raise InvalidEvent(f"graded-games dates {values!r:.200} are not all YYYY-MM-DD")
    try:
        dates = tuple(sorted({date.fromisoformat(v) for v in values}))
    except ValueError:
        raise InvalidEvent(f"graded-games dates {values!r:.200} are not all YYYY-MM-DD") from None
    return GradedGames(msg.message_id, dates, origin, False)


def _yesterday(msg: PubSubMessage, time_zone: str) -> date:
    from zoneinfo import ZoneInfo

    stamp = msg.publish_time or msg.context.time or datetime.now(UTC)
    return stamp.astimezone(ZoneInfo(time_zone)).date() - timedelta(days=1)


# -- the registry-change message: every registry change ↔ on_registry_change -----------------
#: a registry-change action: a lower-case word (registered, enabled, promoted, resync, batch...)
ACTION = re.compile(r"[a-z][a-z_]{0,31}")
MAX_BATCH_CHANGES = 10_000


@dataclass(frozen=True)
class RegistryChangeMessage:
    """A committed registry change (or, ``action == "batch"``, one command's ``changes``)."""

    action: str
    model_ids: tuple[str, ...] = ()  # the last is the model acted on (a promotion: old champion, new)
    actor: str | None = None
    occurred_at: str | None = None  # ISO 8601, as the registry's clock stamped it
    reason: str | None = None
    changes: tuple[RegistryChangeMessage, ...] = ()

    def body(self) -> dict[str, Any]:
        """The JSON body the registry publishes (``batch``: its changes' bodies under ``changes``)."""
        body: dict[str, Any] = {"action": self.action, "model_ids": list(self.model_ids), "actor": self.actor,
                               "occurred_at": self.occurred_at, "reason": self.reason}  # fmt: skip
        if self.action == "batch":
            del body["reason"]
            body["changes"] = [c.body() for c in self.changes]
        return body


def parse_registry_change(msg: PubSubMessage) -> RegistryChangeMessage:
    """A registry-change message → ``RegistryChangeMessage``; anything malformed is ``InvalidEvent``."""
    return _registry_change(msg.json(), f"registry-change message {msg.message_id}", batch_allowed=True)


def _registry_change(payload: Any, what: str, batch_allowed: bool) -> RegistryChangeMessage:
    if not isinstance(payload, dict):
        raise InvalidEvent(f'{what} must be a JSON object such as {{"action": "enabled", "model_ids": ["<model id>"]}}')
    action = payload.get("action")
    if not isinstance(action, str) or not ACTION.fullmatch(action):
        raise InvalidEvent(f"{what} has action {action!r:.80}; expected a lower-case word such as 'enabled'")
    ids = payload.get("model_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise InvalidEvent(f"{what}: model_ids must be a list of model ids (strings), not {ids!r:.80}")
    fields = {k: _optional_text(payload, k, what) for k in ("actor", "occurred_at", "reason")}
    if fields["occurred_at"] is not None:
        try:
            datetime.fromisoformat(fields["occurred_at"])
        except ValueError:
            raise InvalidEvent(f"{what}: occurred_at {fields['occurred_at']!r:.80} is not an ISO 8601 time") from None
    changes: tuple[RegistryChangeMessage, ...] = ()
    if action == "batch":
        raw = payload.get("changes")
        if not batch_allowed or not isinstance(raw, list) or not raw or len(raw) > MAX_BATCH_CHANGES:
            raise InvalidEvent(f"{what}: a batch carries a list of 1-{MAX_BATCH_CHANGES} changes (not nested)")
        changes = tuple(_registry_change(c, f"{what}, change {n}", False) for n, c in enumerate(raw, 1))
    return RegistryChangeMessage(action, tuple(ids), changes=changes, **fields)


def _optional_text(payload: dict[str, Any], key: str, what: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidEvent(f"{what}: {key} must be a string, not {type(value).__name__}")
    return value


# -- the retrain-reminder message: Cloud Scheduler (or `modelctl remind`) ↔ retrain_reminder --------
RETRAIN_REMINDER_JOB = "retrain-reminder"


@dataclass(frozen=True)
class RetrainReminder:
    """A retrain-reminder message: the day to report for."""

    message_id: str
    day: date
    scheduled: bool  # no date named: the (UTC) day the message was published


def retrain_reminder_body(day: date | None = None) -> dict[str, Any]:
    """The body the scheduler job publishes (``{"job": "retrain-reminder"}``), or one naming ``day``."""
    return {"job": RETRAIN_REMINDER_JOB, **({"date": day.isoformat()} if day else {})}


def parse_retrain_reminder(msg: PubSubMessage) -> RetrainReminder:
    """A retrain-reminder message → ``RetrainReminder``; anything malformed is ``InvalidEvent``."""
    payload = msg.json()
    what = f"retrain-reminder message {msg.message_id}"
    if not isinstance(payload, dict):
        raise InvalidEvent(f'{what} must be a JSON object such as {{"job": "{RETRAIN_REMINDER_JOB}"}}')
    if payload.get("job", RETRAIN_REMINDER_JOB) != RETRAIN_REMINDER_JOB:
        raise InvalidEvent(f"{what} is for job {payload['job']!r:.80}; this topic is {RETRAIN_REMINDER_JOB!r}'s")
    raw = payload.get("date")
    if raw is None:
        stamp = msg.publish_time or msg.context.time or datetime.now(UTC)
        return RetrainReminder(msg.message_id, stamp.date(), True)
    try:
        if not isinstance(raw, str) or not ISO_DAY.fullmatch(raw):
            raise ValueError
        return RetrainReminder(msg.message_id, date.fromisoformat(raw), False)
    except ValueError:
        raise InvalidEvent(f"{what}: date {raw!r:.80} is not YYYY-MM-DD (e.g. 2026-03-01)") from None
