"""``modelctl publish graded-games`` and ``modelctl events sample``.

``publish`` is the producer's one line: it sends the documented message (``common/events.py``)
through ``EVENT_BUS_URL``: Pub/Sub in production and on the emulator stack, or the in-process
bus on the embedded default, which runs ``update_performance``'s service right here.

``events sample`` prints a fresh CloudEvent (structured JSON, current time, the models bucket's
real object and generation) that any function started with ``functions-framework`` accepts:
``curl -H 'Content-Type: application/cloudevents+json' -d "$(modelctl events sample …)" …``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

from common import inventory
from common.cli import options as opt
from common.cli import render
from common.cli.extensions import COMMANDS
from common.cli.options import date_range
from common.errors import InvalidArgument, NotFound
from common.eventarc import object_resource, pubsub_cloud_event, storage_cloud_event
from common.eventbus import InProcessBus
from common.events import (
    RegistryChangeMessage,
    graded_games_attributes,
    graded_games_body,
    retrain_reminder_body,
)
from common.runtime import runtime_for
from common.settings import Settings
from common.storage import StoredObject

SAMPLES = ("finalize", "registry-change", "reminder", "graded-games")


# -- publish ----------------------------------------------------------------------------------
def cmd_publish_graded_games(args: argparse.Namespace, settings: Settings) -> int:
    dates = date_range(args.date, args.to or args.date)
    bus = runtime_for(settings).bus()
    heard = len(bus.deliveries) if isinstance(bus, InProcessBus) else 0  # the process's bus: this message's only
    message_id = bus.publish(inventory.GRADED_GAMES, graded_games_body(dates), graded_games_attributes(args.origin))
    deliveries = bus.deliveries[heard:] if isinstance(bus, InProcessBus) else []
    if args.json:
        render.print_json({"topic": inventory.GRADED_GAMES, "message_id": message_id, "bus": settings.event_bus_url,
                           "dates": [d.isoformat() for d in dates],
                           "deliveries": [{"function": fn, "outcome": d.outcome, "error": d.error and str(d.error)}
                                          for fn, d in deliveries]})  # fmt: skip
    else:
        span = f"{dates[0]}..{dates[-1]}" if len(dates) > 1 else str(dates[0])
        render.console.print(f"published graded-games {span} on {settings.event_bus_url} (message {message_id})")
        for fn, d in deliveries:
            render.console.print(f"  {fn}: {d.outcome}" + (f" ({d.error})" if d.error else ""))
    # acknowledged, as deployed (never redelivered); the publisher here hears why and says so
    refused = [d.error for _, d in deliveries if d.error]
    return refused[0].exit_code if refused else 0


# -- events sample ----------------------------------------------------------------------------
def _newest_model(settings: Settings) -> StoredObject:
    models = [o for o in runtime_for(settings).bucket().list() if o.name.endswith(".cbm")]
    if not models:
        raise InvalidArgument(f"no .cbm in {settings.bucket_url}: upload one, or name an object with --object NAME")
    return max(models, key=lambda o: int(o.generation))


def _object(settings: Settings, name: str) -> StoredObject:
    found = [o for o in runtime_for(settings).bucket().list(prefix=name) if o.name == name]
    if not found:
        raise NotFound(f"no object {name!r} in {settings.bucket_url}")
    return found[0]


def sample_event(kind: str, settings: Settings, object_name: str | None = None, day: date | None = None) -> Any:
    """A fresh CloudEvent of ``kind`` (one of ``SAMPLES``), as Eventarc would deliver it now."""
    project = settings.gcp_project
    if kind == "finalize":
        obj = _object(settings, object_name) if object_name else _newest_model(settings)
        return storage_cloud_event(object_resource(obj.bucket, obj.name, obj.generation, obj.size, obj.metadata))
    if kind == "registry-change":
        resync = RegistryChangeMessage("resync", actor=settings.actor, occurred_at=datetime.now(UTC).isoformat())
        return pubsub_cloud_event(project, inventory.REGISTRY_CHANGE, resync.body(), {"action": "resync"})
    if kind == "reminder":
        job = inventory.schedule(inventory.RETRAIN_REMINDER)
        return pubsub_cloud_event(project, job.topic, retrain_reminder_body(day), {"origin": "cloud-scheduler"})
    day = day or datetime.now(UTC).date() - timedelta(days=1)
    return pubsub_cloud_event(
        project, inventory.GRADED_GAMES, graded_games_body([day]), graded_games_attributes("modelctl")
    )


def cmd_events_sample(args: argparse.Namespace, settings: Settings) -> int:
    from cloudevents.conversion import to_structured

    if args.object and args.kind != "finalize":
        raise InvalidArgument("--object is for the finalize sample only")
    _, body = to_structured(sample_event(args.kind, settings, args.object, args.date))
    sys.stdout.write(body.decode() + "\n")  # raw JSON for curl, never wrapped or coloured
    return 0


def register(sub: argparse._SubParsersAction, add: Any) -> None:
    text = COMMANDS["publish"].help
    p = sub.add_parser("publish", help=text, description=text)
    topics = p.add_subparsers(dest="topic", required=True, metavar="TOPIC")
    q = add(topics, "graded-games", cmd_publish_graded_games, "these game dates are final: grade them")
    q.add_argument("--date", required=True, type=opt.iso_date, help="first final game date (YYYY-MM-DD)")
    q.add_argument("--to", type=opt.iso_date, help="last game date, inclusive (default: --date)")
    q.add_argument("--origin", default="modelctl", help="the message's origin attribute (default modelctl)")
    text = COMMANDS["events"].help
    p = sub.add_parser("events", help=text, description=text)
    kinds = p.add_subparsers(dest="events_command", required=True, metavar="SUBCOMMAND")
    q = add(kinds, "sample", cmd_events_sample, "print a fresh, valid CloudEvent (structured JSON) for curl")
    q.add_argument("kind", choices=SAMPLES)
    q.add_argument("--object", metavar="NAME", help="finalize: this object of the models bucket (default: newest .cbm)")
    q.add_argument("--date", type=opt.iso_date, help="reminder / graded-games: the day (default today / yesterday)")
