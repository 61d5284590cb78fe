"""``modelctl watch`` and ``modelctl remind``: the embedded default's stand-ins for Eventarc
and Cloud Scheduler. They build the same CloudEvents and call the same handlers."""

from __future__ import annotations

import argparse
import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from common.cli import render
from common.errors import InvalidArgument
from common.events import PUBSUB_PUBLISHED, STORAGE_FINALIZED, parse_pubsub_event, parse_storage_event
from common.handlers import on_object_finalized, on_retrain_reminder, run_event
from common.log import setup_logging
from common.settings import Settings
from common.storage import StoredObject, open_bucket


def finalized_event(obj: StoredObject) -> Any:
    """The CloudEvent Eventarc would deliver for ``obj``."""
    from cloudevents.http import CloudEvent

    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    attrs = {
        "type": STORAGE_FINALIZED,
        "source": f"//storage.googleapis.com/projects/_/buckets/{obj.bucket}",
        "subject": f"objects/{obj.name}",
        "id": f"watch-{obj.bucket}-{obj.generation}-{uuid.uuid4().hex[:8]}",
        "time": now,
        "datacontenttype": "application/json",
    }
    data = {
        "bucket": obj.bucket,
        "name": obj.name,
        "generation": obj.generation,
        "size": str(obj.size),
        "metadata": obj.metadata,
        "timeCreated": now,
        "updated": now,
        "kind": "storage#object",
    }
    return CloudEvent(attrs, data)


def scheduler_event(topic: str, project: str, payload: dict[str, Any]) -> Any:
    """The CloudEvent a Cloud Scheduler → Pub/Sub → Eventarc chain delivers."""
    from cloudevents.http import CloudEvent

    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    message_id = uuid.uuid4().hex
    data = {
        "message": {
            "data": base64.b64encode(json.dumps(payload).encode()).decode(),
            "messageId": message_id,
            "publishTime": now,
            "attributes": {"origin": "modelctl"},
        },
        "subscription": f"projects/{project}/subscriptions/{topic}-modelctl",
    }
    attrs = {
        "type": PUBSUB_PUBLISHED,
        "source": f"//pubsub.googleapis.com/projects/{project}/topics/{topic}",
        "id": message_id,
        "time": now,
    }
    return CloudEvent(attrs, data)


def scan(settings: Settings, seen: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """Deliver a finalize event for every ``.cbm`` not seen yet; return (name, outcome)."""
    if not settings.bucket_url.startswith("file://"):
        raise InvalidArgument("modelctl watch is for the embedded default (file:// bucket); GCS has Eventarc")
    results = []
    for obj in open_bucket(settings.bucket_url).list():
        key = (obj.name, obj.generation)
        if key in seen or not obj.name.endswith(".cbm"):
            continue
        seen.add(key)
        results.append((obj.name, run_event(finalized_event(obj), parse_storage_event, on_object_finalized)))
    return results


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    seen: set[tuple[str, str]] = set()
    render.console.print(
        f"Watching {settings.bucket_url} for new .cbm files (Ctrl-C to stop)…"
        if not args.once
        else f"Scanning {settings.bucket_url} once…"
    )
    while True:
        for name, outcome in scan(settings, seen):
            render.console.print(f"  {name}: {outcome}")
        if args.once:
            return 0
        time.sleep(args.interval)


def cmd_remind(args: argparse.Namespace, settings: Settings) -> int:
    setup_logging("INFO")  # without SLACK_WEBHOOK_URL the reminder goes to the log: show it
    payload = {"job": "retrain-reminder"}
    if args.date:
        payload["date"] = args.date
    outcome = run_event(
        scheduler_event("retrain-reminder", settings.gcp_project, payload), parse_pubsub_event, on_retrain_reminder
    )
    render.console.print(f"retrain reminder: {outcome}")
    return 0


def register(sub: argparse._SubParsersAction, add: Any) -> None:
    p = add(sub, "watch", cmd_watch, "turn new .cbm files in the local bucket into finalize events (Eventarc stand-in)")
    p.add_argument("--once", action="store_true", help="scan once and exit")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between scans")
    p = add(sub, "remind", cmd_remind, "run the nightly retrain reminder now (Cloud Scheduler stand-in)")
    p.add_argument("--date", help="the day to report for (YYYY-MM-DD; default today)")
