"""The inventory: every function, topic and scheduled job of the system, declared once.

``functions/<name>/main.py`` holds each function's (thin) code; this module says how
it is triggered, which ``common/`` service it calls, how it is sized and what it may
touch. Everything else reads it:

* the deploy planner (``infra/deploy``): service accounts, roles, topics, dead letters,
  secrets (which ones: ``common/settings.py``'s ``ENVIRONMENT``), ``gcloud functions deploy`` /
  ``gcloud run deploy`` and scheduler jobs;
* the local emulator stack (``infra/local``): one functions-framework process per
  function, push subscriptions per topic, the Eventarc bridge for storage triggers;
* the in-process event bus (``common/eventbus.py``): which services a topic reaches on
  the embedded default;
* the settings (topic names).

``tests/test_inventory.py`` proves that every folder under ``functions/`` is listed
here and that each ``main.py`` calls the service named here.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from common.errors import ConfigError, NotFound
from common.events import (
    GRADED_GAMES_NIGHTLY_JOB,
    PUBSUB_PUBLISHED,
    RETRAIN_REMINDER_JOB,
    STORAGE_FINALIZED,
    retrain_reminder_body,
)
from common.settings import ENVIRONMENT

Trigger = Literal["storage", "pubsub", "http"]

# -- topics --------------------------------------------------------------------------------
REGISTRY_CHANGE = "registry-change"
GRADED_GAMES = "graded-games"
RETRAIN_REMINDER = "retrain-reminder"
TOPICS: tuple[str, ...] = (REGISTRY_CHANGE, GRADED_GAMES, RETRAIN_REMINDER)
#: where undeliverable finalize events of the storage trigger go
STORAGE_DEAD_LETTER = "model-finalized-dead-letter"


def dead_letter(topic: str) -> str:
    """The dead-letter topic of ``topic`` (its subscription is ``<dead letter>-sub``)."""
    return f"{topic}-dead-letter"


# -- functions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Function:
    """One function: its folder, trigger, service, sizing and permissions."""

    name: str  # folder under functions/, and the functions-framework target in its main.py
    deployed_name: str  # the Cloud Functions / Cloud Run name (lower case and hyphens)
    trigger: Trigger
    service: str | None  # "module:function" in common/ that main.py hands the typed event to
    topic: str = ""  # the Pub/Sub trigger's topic
    memory: str = "512Mi"
    timeout_seconds: int = 300
    max_instances: int = 5
    min_instances: int = 0
    service_account: str = ""  # default: fn-<deployed_name>, run-<deployed_name> for HTTP
    # least privilege: what the function touches, nothing more
    bucket_role: str = ""  # roles/storage.objectViewer (read) or roles/storage.objectUser (read/write)
    dataset_access: Literal["READER", "WRITER"] = "READER"
    publishes: tuple[str, ...] = ()  # topics it publishes on
    cpu_always_on: bool = False  # HTTP services: CPU between requests (background threads)

    @property
    def target(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        """The folder under ``functions/`` (and under ``dist/`` once staged)."""
        return self.name

    @property
    def signature_type(self) -> str:
        return "http" if self.trigger == "http" else "cloudevent"

    @property
    def event_type(self) -> str | None:
        return {"storage": STORAGE_FINALIZED, "pubsub": PUBSUB_PUBLISHED}.get(self.trigger)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Environment variables mounted from Secret Manager: ``common/settings.py``'s secret rows naming it."""
        return tuple(v.name for v in ENVIRONMENT if v.secret and v.sets(self.name))

    @property
    def sa_id(self) -> str:
        return self.service_account or f"{'run' if self.trigger == 'http' else 'fn'}-{self.deployed_name}"


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "register_model",
        "register-model",
        "storage",
        "common.services.register_model:on_object_finalized",
        memory="1Gi",
        bucket_role="roles/storage.objectViewer",
        dataset_access="WRITER",
        publishes=(REGISTRY_CHANGE,),
    ),
    Function(
        "on_registry_change",
        "on-registry-change",
        "pubsub",
        "common.services.on_registry_change:handle_registry_change",
        topic=REGISTRY_CHANGE,
        max_instances=1,  # manifest writes are conditional; one writer avoids needless races
        bucket_role="roles/storage.objectUser",
        dataset_access="WRITER",  # records each registry notification (once per change)
    ),
    Function(
        "retrain_reminder",
        "retrain-reminder",
        "pubsub",
        "common.services.retrain_reminder:on_retrain_reminder",
        topic=RETRAIN_REMINDER,
        max_instances=1,
        bucket_role="roles/storage.objectViewer",  # the nightly serving check reads the manifest
        dataset_access="WRITER",  # records the day's notification (once per day)
        publishes=(REGISTRY_CHANGE,),  # a resync when the manifest is behind the registry
    ),
    Function(
        "update_performance",
        "update-performance",
        "pubsub",
        "common.services.update_performance:on_graded_games",
        topic=GRADED_GAMES,
        memory="2Gi",
        timeout_seconds=540,
        max_instances=2,
        dataset_access="WRITER",
    ),
    Function(
        "predict",
        "prediction-worker",
        "http",
        None,  # an HTTP function: the prediction worker (common/worker)
        memory="2Gi",
        timeout_seconds=600,
        max_instances=3,
        min_instances=1,  # keeps models loaded and the manifest poller running
        bucket_role="roles/storage.objectViewer",
        dataset_access="WRITER",  # player_prop_predictions, worker_acks, the picks alert's delivery
        cpu_always_on=True,  # the manifest poller hot-reloads models between requests
        publishes=(REGISTRY_CHANGE,),  # a resync when its check finds the manifest behind the registry
    ),
    Function(
        "dashboard",
        "dashboard",
        "http",
        None,  # an HTTP function: the read-only dashboard (common/dashboard)
        memory="1Gi",
        timeout_seconds=60,
        max_instances=2,
        bucket_role="roles/storage.objectViewer",  # reads each model's embedded card from its file
        dataset_access="READER",  # read-only: it shows the registry, it never changes it
    ),
)


# -- scheduled jobs ------------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """A Cloud Scheduler job publishing ``body`` on ``topic`` at ``cron`` in ``time_zone``."""

    job: str
    topic: str
    cron: str
    time_zone: str
    body: dict[str, Any]

    @property
    def message_body(self) -> str:
        return json.dumps(self.body, sort_keys=True)


#: The league's calendar: the schedules run on its clock, and "today" on the dashboard is its date.
LEAGUE_TIME_ZONE = "America/New_York"
SCHEDULES: tuple[Schedule, ...] = (
    Schedule(
        f"{RETRAIN_REMINDER_JOB}-nightly", RETRAIN_REMINDER, "0 9 * * *", LEAGUE_TIME_ZONE, retrain_reminder_body()
    ),
    # The safety net for a box-score producer that forgot to publish: every morning, after the last
    # West-coast game is final, grade yesterday (the day before the publish time, in this time zone).
    # A date the producer already announced is graded again, which changes nothing (idempotent).
    Schedule(GRADED_GAMES_NIGHTLY_JOB, GRADED_GAMES, "0 6 * * *", LEAGUE_TIME_ZONE, {"job": GRADED_GAMES_NIGHTLY_JOB}),
)


# -- lookups -------------------------------------------------------------------------------
def function(name: str) -> Function:
    """The function called ``name`` (its folder name)."""
    for fn in FUNCTIONS:
        if fn.name == name:
            return fn
    raise NotFound(f"no function {name!r} in the inventory; known: {', '.join(f.name for f in FUNCTIONS)}")


def schedule(topic: str) -> Schedule:
    """The scheduled job publishing on ``topic``."""
    for job in SCHEDULES:
        if job.topic == topic:
            return job
    raise NotFound(f"no scheduled job publishes on {topic!r}; jobs: {', '.join(s.job for s in SCHEDULES)}")


def subscribers(topic: str) -> tuple[Function, ...]:
    """The functions a message on ``topic`` triggers."""
    return tuple(fn for fn in FUNCTIONS if fn.trigger == "pubsub" and fn.topic == topic)


def load_service(fn: Function) -> Callable[..., Any]:
    """Import the ``common/`` service ``fn`` hands its events to; fail loudly when it cannot."""
    if fn.service is None:
        raise ConfigError(f"function {fn.name} is an HTTP function: it has no event service")
    module_name, _, attr = fn.service.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load {fn.service}, the service of {fn.name}: {exc}") from exc
