"""Dummy CloudEvent functions used by tests/test_local_stack.py.

Each function appends what it received to the JSON-lines file named by the
``RECORD_EVENTS_PATH`` environment variable, so a test can see exactly which
CloudEvents reached the function through the local emulator stack.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

import functions_framework
from cloudevents.http import CloudEvent

RECORD_ENV = "RECORD_EVENTS_PATH"
FAIL_TIMES_ENV = "FLAKY_FAIL_TIMES"


def _event_record(event: CloudEvent, function: str) -> dict[str, Any]:
    """Serialisable view of a CloudEvent (attributes + data)."""
    attributes = dict(event.get_attributes().items())
    return {
        "function": function,
        "id": event["id"],
        "type": event["type"],
        "source": event["source"],
        "subject": event.get("subject"),
        "time": event.get("time"),
        "attributes": attributes,
        "data": event.get_data(),
    }


def _append(record: dict[str, Any], fail_times: int = 0) -> str:
    """Append ``record`` with its outcome; fail while fewer than ``fail_times`` earlier deliveries exist."""
    path = Path(os.environ[RECORD_ENV])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        earlier = [json.loads(line) for line in handle if line.strip()]
        seen = sum(1 for old in earlier if old["id"] == record["id"] and old["function"] == record["function"])
        record["outcome"] = "fail" if seen < fail_times else "ok"
        record["delivery"] = seen + 1
        handle.write(json.dumps(record, default=str) + "\n")
    return str(record["outcome"])


@functions_framework.cloud_event
def record_event(event: CloudEvent) -> None:
    """Record the CloudEvent and succeed."""
    _append(_event_record(event, "record_event"))


@functions_framework.cloud_event
def flaky_event(event: CloudEvent) -> None:
    """Record the CloudEvent; raise (HTTP 500) on the first ``FLAKY_FAIL_TIMES`` deliveries of each id."""
    if _append(_event_record(event, "flaky_event"), int(os.environ.get(FAIL_TIMES_ENV, "1"))) == "fail":
        raise RuntimeError(f"flaky_event: failing delivery of {event['id']} on purpose")
