"""What a deployment is made of: one typed, validated ``DeployConfig``.

Defaults follow the legacy platform (dataset ``nba_predictions``, bucket
``<project>-models``, a Cloud Run service called ``prediction-worker``); every
knob has a command-line option and an environment variable of the same name
(see ``infra/deploy/__main__.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from common.errors import ConfigError

Trigger = Literal["storage", "pubsub", "http"]

FINALIZED = "google.cloud.storage.object.v1.finalized"
STORAGE_DEAD_LETTER = "model-finalized-dead-letter"
# Pub/Sub's service agent forwards undeliverable messages to dead-letter topics.
PUBSUB_AGENT = "serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"


@dataclass(frozen=True)
class FunctionSpec:
    """One deployable unit staged from ``functions/<source>/``.

    ``trigger="http"`` is the prediction worker: a Cloud Run service (always-on CPU
    for its manifest poller); the others are 2nd-gen functions with an Eventarc trigger.
    """

    name: str  # the deployed name (Cloud Run needs lower case and hyphens)
    source: str  # folder under functions/, and under dist/
    entry_point: str
    trigger: Trigger
    topic: str = ""  # the Pub/Sub trigger's topic
    service_account_id: str = ""  # default: fn-<name> / run-<name>
    memory: str = "512Mi"
    timeout_seconds: int = 300
    max_instances: int = 5
    min_instances: int = 0
    # least privilege: what the function touches, nothing more
    bucket_role: str = ""  # roles/storage.objectViewer (read) or roles/storage.objectUser (read/write)
    dataset_access: Literal["READER", "WRITER"] = "READER"
    publishes: tuple[str, ...] = ()  # topics it publishes on
    slack: bool = False  # gets the Slack webhook secret as SLACK_WEBHOOK_URL

    @property
    def sa_id(self) -> str:
        return self.service_account_id or f"{'run' if self.trigger == 'http' else 'fn'}-{self.name}"

    @property
    def var(self) -> str:
        """Prefix of the shell variables the plan captures for this function."""
        return self.name.upper().replace("-", "_")


DEFAULT_FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        "register-model",
        "register_model",
        "register_model",
        "storage",
        memory="1Gi",
        bucket_role="roles/storage.objectViewer",
        dataset_access="WRITER",
        publishes=("registry-change",),
    ),
    FunctionSpec(
        "on-registry-change",
        "on_registry_change",
        "on_registry_change",
        "pubsub",
        topic="registry-change",
        max_instances=1,  # manifest writes are conditional; one writer avoids needless races
        bucket_role="roles/storage.objectUser",
    ),
    FunctionSpec(
        "retrain-reminder",
        "retrain_reminder",
        "retrain_reminder",
        "pubsub",
        topic="retrain-reminder",
        max_instances=1,
        dataset_access="WRITER",  # records the day's notification (once per day)
        slack=True,
    ),
    FunctionSpec(
        "update-performance",
        "update_performance",
        "update_performance",
        "pubsub",
        topic="graded-games",
        memory="2Gi",
        timeout_seconds=540,
        max_instances=2,
        dataset_access="WRITER",
        slack=True,  # promotion advice
    ),
    FunctionSpec(
        "prediction-worker",
        "predict",
        "predict",
        "http",
        memory="2Gi",
        timeout_seconds=600,
        max_instances=3,
        min_instances=1,  # keeps models loaded and the manifest poller running
        bucket_role="roles/storage.objectViewer",
        dataset_access="WRITER",  # player_prop_predictions, worker_acks
    ),
)

_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_DATASET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
_RESOURCE = re.compile(r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_SA_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


@dataclass(frozen=True)
class DeployConfig:
    """Everything ``make deploy`` needs to know; ``validate()`` names the bad variable."""

    project: str
    region: str
    dataset: str = "nba_predictions"
    bucket: str = ""  # default: <project>-models
    bucket_location: str = ""  # default: the region (a storage trigger lives where its bucket is)
    bq_location: str = "US"
    registry_change_topic: str = "registry-change"
    graded_games_topic: str = "graded-games"
    reminder_topic: str = "retrain-reminder"
    schedule: str = "0 9 * * *"
    time_zone: str = "America/New_York"
    scheduler_job: str = "retrain-reminder-nightly"
    slack_secret: str = "slack-webhook-url"
    set_slack_webhook: bool = False  # SLACK_WEBHOOK_URL given: store it as the secret's latest version
    max_delivery_attempts: int = 10  # then the dead-letter topic; backoff 10 s → 10 min: ~40 min of retries
    max_event_age_seconds: int = 3 * 24 * 3600
    runtime: str = "python311"
    python: str = ".venv/bin/python"
    modelctl: str = ".venv/bin/modelctl"
    dist: str = "dist"
    functions: tuple[FunctionSpec, ...] = field(default=DEFAULT_FUNCTIONS)

    @property
    def bucket_name(self) -> str:
        return self.bucket or f"{self.project}-models"

    @property
    def storage_location(self) -> str:
        return (self.bucket_location or self.region).lower()

    @property
    def topics(self) -> tuple[str, ...]:
        return (self.registry_change_topic, self.graded_games_topic, self.reminder_topic)

    @property
    def registry_url(self) -> str:
        return f"bigquery://{self.project}/{self.dataset}?location={self.bq_location}"

    def sa_email(self, fn: FunctionSpec) -> str:
        return f"{fn.sa_id}@{self.project}.iam.gserviceaccount.com"

    def topic_of(self, fn: FunctionSpec) -> str:
        """The trigger topic, following renamed topics (the specs name the defaults)."""
        renames = {"registry-change": self.registry_change_topic, "graded-games": self.graded_games_topic}
        renames["retrain-reminder"] = self.reminder_topic
        return renames.get(fn.topic, fn.topic)

    def dead_letter_of(self, fn: FunctionSpec) -> str:
        return STORAGE_DEAD_LETTER if fn.trigger == "storage" else f"{self.topic_of(fn)}-dead-letter"

    def validate(self) -> DeployConfig:
        """Return self, or raise ``ConfigError`` naming the setting to fix."""
        _check("PROJECT", self.project, _PROJECT, "6-30 lower-case letters, digits or hyphens")
        _check("REGION", self.region, _REGION, "a Cloud region such as us-west2")
        _check("DATASET", self.dataset, _DATASET, "letters, digits and underscores")
        _check("BUCKET", self.bucket_name, _BUCKET, "a bucket name (3-63 lower-case characters)")
        _check("SLACK_SECRET", self.slack_secret, _RESOURCE, "lower-case letters, digits, hyphens")
        _check("SCHEDULER_JOB", self.scheduler_job, _RESOURCE, "lower-case letters, digits, hyphens")
        for topic in self.topics:
            _check("topic", topic, _RESOURCE, "lower-case letters, digits, hyphens")
        if len(self.schedule.split()) != 5:
            raise ConfigError(f"SCHEDULE must be a 5-field cron expression like '0 9 * * *', got {self.schedule!r}")
        if not 5 <= self.max_delivery_attempts <= 100:
            raise ConfigError("MAX_DELIVERY_ATTEMPTS must be between 5 and 100 (Pub/Sub's limits)")
        names = [fn.name for fn in self.functions]
        if len(set(names)) != len(names) or len({fn.sa_id for fn in self.functions}) != len(names):
            raise ConfigError("function names and service accounts must be unique (one service account each)")
        for fn in self.functions:
            _check(f"function {fn.name}", fn.name, _RESOURCE, "lower-case letters, digits, hyphens")
            _check(f"service account of {fn.name}", fn.sa_id, _SA_ID, "6-30 lower-case letters, digits, hyphens")
            if fn.trigger == "pubsub" and self.topic_of(fn) not in self.topics:
                raise ConfigError(f"function {fn.name} listens on unknown topic {fn.topic!r}")
        return self


def _check(name: str, value: str, pattern: re.Pattern[str], what: str) -> None:
    if not pattern.match(value or ""):
        raise ConfigError(f"{name} must be {what}, got {value!r}")
