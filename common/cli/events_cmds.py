"""``modelctl watch`` and ``modelctl remind``: the embedded default's stand-ins for Eventarc
and Cloud Scheduler. They build the same CloudEvents and call the same handlers."""

from __future__ import annotations

import argparse
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from common.cli import options as opt
from common.cli import render
from common.errors import AppError, Conflict, InvalidArgument
from common.eventarc import object_resource, pubsub_cloud_event, storage_cloud_event
from common.events import parse_pubsub_event, parse_storage_event, retrain_reminder_body
from common.inventory import RETRAIN_REMINDER, SCHEDULES, Schedule
from common.log import setup_logging
from common.registry.naming import STAGING_PREFIX
from common.registry.validation import read_facts
from common.reminder import FamilyStaleness, due
from common.runner import run_event
from common.runtime import runtime_for
from common.services.register_model import on_object_finalized
from common.services.retrain_reminder import on_retrain_reminder, report
from common.settings import Settings
from common.storage import PreconditionFailed, StoredObject

log = logging.getLogger(__name__)
UPLOAD_PREFIX = "models/uploads/"


def finalized_event(obj: StoredObject) -> Any:
    """The CloudEvent Eventarc would deliver for ``obj``."""
    resource = object_resource(obj.bucket, obj.name, obj.generation, obj.size, obj.metadata)
    return storage_cloud_event(resource, event_id=f"watch-{obj.bucket}-{obj.generation}-{uuid.uuid4().hex[:8]}")


def scheduler_event(project: str, job: Schedule, payload: dict[str, Any]) -> Any:
    """The CloudEvent a Cloud Scheduler → Pub/Sub → Eventarc chain delivers for ``job``."""
    return pubsub_cloud_event(project, job.topic, payload, {"origin": "modelctl"}, subscription=f"{job.topic}-modelctl")


@dataclass
class _Retry:
    """A file whose delivery failed with a retryable error: when to try again."""

    attempts: int
    due: float
    error: BaseException


@dataclass
class Watcher:
    """Turns new ``.cbm`` files into finalize events, and never gives up on one.

    A permanent failure (a bad model) is acknowledged by ``run_event`` and recorded as a
    rejection. A retryable one (the registry locked by another process for longer than
    the engine waits, a registry not migrated yet, a bus that is down) or an unexpected
    one is logged and the file is tried again later with exponential backoff, while the
    other files go on.
    """

    settings: Settings
    first_delay: float = 1.0
    max_delay: float = 60.0
    clock: Callable[[], float] = time.monotonic
    done: set[tuple[str, str]] = field(default_factory=set)
    retries: dict[tuple[str, str], _Retry] = field(default_factory=dict)

    def scan(self) -> list[tuple[str, str]]:
        """Deliver every ``.cbm`` not delivered yet (and due); return (name, outcome)."""
        try:
            objects = runtime_for(self.settings).bucket().list()
        except Exception as exc:  # noqa: BLE001 - a watcher outlives a bad listing
            log.warning("cannot list %s, will retry: %s", self.settings.bucket_url, exc)
            return [(self.settings.bucket_url, f"listing failed, will retry: {exc}")]
        results = []
        for obj in objects:
            key = (obj.name, obj.generation)
            pending = self.retries.get(key)
            if key in self.done or not obj.name.endswith(".cbm") or (pending and pending.due > self.clock()):
                continue
            results.append((obj.name, self._deliver(obj, key)))
        return results

    def _deliver(self, obj: StoredObject, key: tuple[str, str]) -> str:
        try:
            outcome = run_event(finalized_event(obj), parse_storage_event, on_object_finalized, self.settings)
        except Exception as exc:  # noqa: BLE001 - retryable or unexpected: back off, go on
            attempts = self.retries[key].attempts + 1 if key in self.retries else 1
            delay = min(self.first_delay * 2 ** (attempts - 1), self.max_delay)
            self.retries[key] = _Retry(attempts, self.clock() + delay, exc)
            log.warning(
                "%s: attempt %d failed, retrying in %.0f s: %s",
                obj.name,
                attempts,
                delay,
                exc,
                extra={"object": obj.name, "attempts": attempts, "retry_in_seconds": delay},
                exc_info=not isinstance(exc, AppError),
            )
            return f"failed (attempt {attempts}), retrying in {delay:.0f} s: {exc}"
        self.done.add(key)
        self.retries.pop(key, None)
        return outcome

    def next_due(self) -> float | None:
        """Seconds until the next retry is due (None: nothing to retry)."""
        if not self.retries:
            return None
        return max(0.0, min(r.due for r in self.retries.values()) - self.clock())


def _require_folder_bucket(settings: Settings) -> None:
    if not settings.bucket_url.startswith("file://"):
        raise InvalidArgument("modelctl watch is for the embedded default (file:// bucket); GCS has Eventarc")


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    _require_folder_bucket(settings)
    watcher = Watcher(settings)
    render.console.print(
        f"Watching {settings.bucket_url} for new .cbm files (Ctrl-C to stop)…"
        if not args.once
        else f"Scanning {settings.bucket_url} once…"
    )
    while True:
        for name, outcome in watcher.scan():
            render.console.print(f"  {name}: {outcome}")
        if args.once:
            return _once_exit(watcher)
        time.sleep(args.interval)


def _once_exit(watcher: Watcher) -> int:
    """``--once``: files still failing are left for the next run; the exit code says why."""
    if not watcher.retries:
        return 0
    error = next(iter(watcher.retries.values())).error
    render.err_console.print(
        f"modelctl watch: {len(watcher.retries)} file(s) not delivered, run again later: {error}", markup=False
    )
    return error.exit_code if isinstance(error, AppError) else 1


def cmd_remind(args: argparse.Namespace, settings: Settings) -> int:
    """The day's reminder, shown on every run; ``--send`` delivers it as the nightly job does
    (once per day: a second send reports a duplicate and sends nothing)."""
    day = args.date or datetime.now(UTC).date()
    families = report(settings, day)
    stale = due(families, settings.reminder_min_days)
    if args.json and not args.send:
        render.print_json({"date": day.isoformat(), "families": [_family_json(f, f in stale) for f in families]})
        return 0
    if not args.json:
        _print_report(day, families, stale)
    if not args.send:
        render.console.print("Not sent: `modelctl remind --send` delivers it (Slack, else the log), once per day.")
        return 0
    setup_logging("INFO")  # without SLACK_WEBHOOK_URL the reminder goes to the log: show it
    job = next(s for s in SCHEDULES if s.topic == RETRAIN_REMINDER)
    event = scheduler_event(settings.gcp_project, job, retrain_reminder_body(args.date))
    outcome = run_event(event, parse_pubsub_event, on_retrain_reminder, settings)
    if args.json:
        render.print_json({"date": day.isoformat(), "families": [_family_json(f, f in stale) for f in families],
                           "sent": outcome})  # fmt: skip
    else:
        render.console.print(f"retrain reminder: {outcome}")
    # a permanent failure was logged above; the command still failed
    return InvalidArgument.exit_code if outcome in ("invalid", "rejected") else 0


def _print_report(day: date, families: list[FamilyStaleness], stale: list[FamilyStaleness]) -> None:
    render.table(
        f"Retrain reminder {day}: {len(stale)} of {len(families)} active famil{'y' if len(families) == 1 else 'ies'}"
        f" need{'s' if len(stale) == 1 else ''} retraining",
        ["family", "newest model", "train end", "days", "level", "command"],
        [
            (f.family, f.newest_model_id, f.newest_train_end.isoformat(), str(f.days), f.level or "fresh",
             f.command if f in stale else "")
            for f in families
        ],
    )  # fmt: skip


def _family_json(f: FamilyStaleness, listed: bool) -> dict[str, Any]:
    return {
        "family": f.family,
        "newest_model_id": f.newest_model_id,
        "newest_train_end": f.newest_train_end.isoformat(),
        "days": f.days,
        "level": f.level,
        "command": f.command if listed else None,
    }


def cmd_upload(args: argparse.Namespace, settings: Settings) -> int:
    """Copy a local ``.cbm`` into the models bucket, as `gcloud storage cp` would, and register
    nothing: the bucket's trigger does (``register_model`` on GCS and the emulator stack,
    ``modelctl watch`` on a folder bucket). Never over an existing object."""
    path = Path(args.path)
    name = args.name or f"{UPLOAD_PREFIX}{path.name}"
    if not name.endswith(".cbm"):
        raise InvalidArgument(f"{name} does not end in .cbm: the finalize trigger ignores it (name it ….cbm)")
    if not path.is_file():
        raise InvalidArgument(f"{path} is not a file")
    size = path.stat().st_size
    if size > settings.max_model_bytes:
        raise InvalidArgument(f"{path} is {size:,} bytes; MAX_MODEL_BYTES is {settings.max_model_bytes:,}")
    data = path.read_bytes()
    read_facts(data, name)  # what registration would refuse is refused here, before anything is written
    bucket = runtime_for(settings).bucket()
    try:
        stored = bucket.write(name, data, if_generation_match="0")
    except PreconditionFailed:
        raise Conflict(f"{bucket.uri(name)} already exists; upload under another --name") from None
    staged = " (staging/: the trigger ignores it; `modelctl register` it)" if name.startswith(STAGING_PREFIX) else ""
    if args.json:
        render.print_json({"uri": stored.uri, "generation": stored.generation, "size": stored.size})
    else:
        render.console.print(f"uploaded {stored.uri} (generation {stored.generation}, {stored.size:,} bytes){staged}")
    return 0


def register(sub: argparse._SubParsersAction, add: Any) -> None:
    p = add(sub, "watch", cmd_watch)
    p.add_argument("--once", action="store_true", help="scan once and exit")
    p.add_argument("--interval", type=opt.positive_float, default=1.0, help="seconds between scans")
    p = add(sub, "upload", cmd_upload)
    p.add_argument("path", help="a local .cbm file")
    p.add_argument("--name", help=f"object name in the bucket (default {UPLOAD_PREFIX}<file name>)")
    p = add(sub, "remind", cmd_remind)
    p.add_argument("--date", type=opt.iso_date, help="the day to report for (YYYY-MM-DD; default today, UTC)")
    p.add_argument(
        "--send",
        action="store_true",
        help="also deliver it as the nightly job does (Slack, else the log; once per day) and check serving",
    )
