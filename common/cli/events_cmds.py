"""``modelctl watch`` and ``modelctl remind``: the embedded default's stand-ins for Eventarc
and Cloud Scheduler. They build the same CloudEvents and call the same handlers."""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

from common.cli import options as opt
from common.cli import render
from common.errors import InvalidArgument
from common.events import (
    object_resource,
    parse_pubsub_event,
    parse_storage_event,
    pubsub_cloud_event,
    storage_cloud_event,
)
from common.handlers import on_object_finalized
from common.inventory import RETRAIN_REMINDER, SCHEDULES, Schedule
from common.log import setup_logging
from common.reminder import on_retrain_reminder
from common.runner import run_event
from common.settings import Settings
from common.storage import StoredObject, open_bucket


def finalized_event(obj: StoredObject) -> Any:
    """The CloudEvent Eventarc would deliver for ``obj``."""
    resource = object_resource(obj.bucket, obj.name, obj.generation, obj.size, obj.metadata)
    return storage_cloud_event(resource, event_id=f"watch-{obj.bucket}-{obj.generation}-{uuid.uuid4().hex[:8]}")


def scheduler_event(project: str, job: Schedule, payload: dict[str, Any]) -> Any:
    """The CloudEvent a Cloud Scheduler → Pub/Sub → Eventarc chain delivers for ``job``."""
    return pubsub_cloud_event(project, job.topic, payload, {"origin": "modelctl"}, subscription=f"{job.topic}-modelctl")


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
        results.append((obj.name, run_event(finalized_event(obj), parse_storage_event, on_object_finalized, settings)))
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
    job = next(s for s in SCHEDULES if s.topic == RETRAIN_REMINDER)
    payload = {**job.body, **({"date": args.date.isoformat()} if args.date else {})}
    event = scheduler_event(settings.gcp_project, job, payload)
    outcome = run_event(event, parse_pubsub_event, on_retrain_reminder, settings)
    render.console.print(f"retrain reminder: {outcome}")
    # a permanent failure was logged above; the command still failed
    return InvalidArgument.exit_code if outcome in ("invalid", "rejected") else 0


def register(sub: argparse._SubParsersAction, add: Any) -> None:
    p = add(sub, "watch", cmd_watch, "turn new .cbm files in the local bucket into finalize events (Eventarc stand-in)")
    p.add_argument("--once", action="store_true", help="scan once and exit")
    p.add_argument("--interval", type=opt.positive_float, default=1.0, help="seconds between scans")
    p = add(sub, "remind", cmd_remind, "run the nightly retrain reminder now (Cloud Scheduler stand-in)")
    p.add_argument("--date", type=opt.iso_date, help="the day to report for (YYYY-MM-DD; default today)")
