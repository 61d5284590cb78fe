"""The CloudEvents Eventarc delivers, built through the cloudevents SDK.

For everything that stands in for Eventarc: the in-process bus, the local stack's bridge,
``modelctl watch`` / ``remind`` / ``events sample``. Parsing them is ``common/events.py``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from common.events import PUBSUB_PUBLISHED, STORAGE_FINALIZED


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
