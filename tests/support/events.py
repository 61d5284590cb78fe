"""CloudEvents shaped exactly as Eventarc delivers them, from the fixtures in tests/events/."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EVENTS_DIR / name).read_text()))


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def to_cloud_event(raw: dict[str, Any]) -> CloudEvent:
    attrs = {k: v for k, v in raw.items() if k != "data"}
    return CloudEvent(attrs, raw.get("data"))


def storage_event(bucket: str, name: str, generation: str, size: int, time: str | None = None) -> CloudEvent:
    raw = fixture("storage_object_finalized.json")
    raw.update(
        id=uuid.uuid4().hex,
        time=time or now_rfc3339(),
        subject=f"objects/{name}",
        source=f"//storage.googleapis.com/projects/_/buckets/{bucket}",
    )
    raw["data"].update(
        bucket=bucket, name=name, generation=str(generation), size=str(size), id=f"{bucket}/{name}/{generation}"
    )
    return to_cloud_event(raw)


def pubsub_event(
    fixture_name: str,
    payload: Any = None,
    raw_data: str | None = None,
    time: str | None = None,
    event_id: str | None = None,
) -> CloudEvent:
    raw = fixture(fixture_name)
    raw.update(id=event_id or uuid.uuid4().hex, time=time or now_rfc3339())
    message = raw["data"]["message"]
    if payload is not None:
        message["data"] = base64.b64encode(json.dumps(payload).encode()).decode()
    if raw_data is not None:
        message["data"] = raw_data
    message["publishTime"] = message["publish_time"] = raw["time"]
    message["messageId"] = message["message_id"] = raw["id"]
    return to_cloud_event(raw)


def post(client: Any, event: CloudEvent, mode: str = "binary") -> Any:
    """POST through functions-framework's test client in binary or structured mode."""
    headers, body = to_binary(event) if mode == "binary" else to_structured(event)
    return client.post("/", headers=headers, data=body)
