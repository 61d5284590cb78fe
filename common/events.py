"""Typed events: raw CloudEvents in, small frozen dataclasses out.

Malformed input raises one ``InvalidEvent`` with a message a person can act on;
handlers log it and acknowledge (redelivering a malformed event cannot help).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Mapping, Sequence
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


# -- building events: what Eventarc delivers, through the cloudevents SDK ----------------------
def rfc3339(moment: datetime | None = None) -> str:
    """``moment`` (default now) as Eventarc writes times: UTC with a ``Z``."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def storage_cloud_event(data: Mapping[str, Any], event_id: str | None = None, time: str | None = None) -> Any:
    """The ``…object.v1.finalized`` CloudEvent Eventarc delivers for the object resource ``data``
    (GCS JSON API fields: ``bucket``, ``name``, ``generation``, ``size``, ``metadata``...)."""
    from cloudevents.http import CloudEvent

    bucket, name = str(data["bucket"]), str(data["name"])
    attrs = {
        "type": STORAGE_FINALIZED,
        "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "subject": f"objects/{name}",
        "id": event_id or uuid.uuid4().hex,
        "time": time or str(data.get("updated") or rfc3339()),
        "datacontenttype": "application/json",
        "bucket": bucket,  # Eventarc's extension attribute
    }
    return CloudEvent(attrs, dict(data))


def object_resource(
    bucket: str, name: str, generation: str, size: int, metadata: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The GCS JSON API resource of an object, as a finalize notification carries it."""
    now = rfc3339()
    return {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{generation}",
        "bucket": bucket,
        "name": name,
        "generation": str(generation),
        "metageneration": "1",
        "size": str(size),
        "contentType": "application/octet-stream",
        "metadata": dict(metadata or {}),
        "timeCreated": now,
        "updated": now,
    }


def pubsub_cloud_event(
    project: str,
    topic: str,
    payload: Any,
    attributes: Mapping[str, str] | None = None,
    subscription: str | None = None,
    message_id: str | None = None,
) -> Any:
    """The ``messagePublished`` CloudEvent Eventarc delivers for a JSON message on ``topic``."""
    from cloudevents.http import CloudEvent

    message_id = message_id or uuid.uuid4().hex
    now = rfc3339()
    data = {
        "message": {
            "data": base64.b64encode(json.dumps(payload).encode()).decode(),
            "attributes": dict(attributes or {}),
            "messageId": message_id,
            "publishTime": now,
        },
        "subscription": f"projects/{project}/subscriptions/{subscription or topic + '-local'}",
    }
    attrs = {
        "type": PUBSUB_PUBLISHED,
        "source": f"//pubsub.googleapis.com/projects/{project}/topics/{topic}",
        "id": message_id,
        "time": now,
        "datacontenttype": "application/json",
    }
    return CloudEvent(attrs, data)


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
