"""What a deployment is made of: one typed, validated ``DeployConfig``.

Defaults follow the legacy platform (dataset ``nba_predictions``, bucket
``<project>-models``, a Cloud Run service called ``prediction-worker``); every
knob has a command-line option and an environment variable of the same name
(see ``infra/deploy/__main__.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from common import inventory
from common.errors import ConfigError
from common.inventory import Function, Schedule
from common.settings import SLACK_WEBHOOK_URL, Settings

# Pub/Sub's service agent forwards undeliverable messages to dead-letter topics.
PUBSUB_AGENT = "serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"


def shell_var(fn: Function) -> str:
    """Prefix of the shell variables the plan captures for ``fn``."""
    return fn.deployed_name.upper().replace("-", "_")


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
    schedule: str = ""  # default: the inventory's cron of the nightly reminder
    time_zone: str = ""  # default: the inventory's time zone of the nightly reminder
    scheduler_job: str = ""  # default: the inventory's job name of the nightly reminder
    slack_secret: str = "slack-webhook-url"
    set_slack_webhook: bool = False  # the webhook (SLACK_WEBHOOK_URL) given: store it as the secret's latest version
    max_delivery_attempts: int = 10  # then the dead-letter topic; backoff 10 s → 10 min: ~40 min of retries
    max_event_age_seconds: int = Settings.max_event_age_seconds  # the functions' MAX_EVENT_AGE_SECONDS
    runtime: str = "python311"
    python: str = ".venv/bin/python"
    modelctl: str = ".venv/bin/modelctl"
    dist: str = "dist"
    functions: tuple[Function, ...] = field(default=inventory.FUNCTIONS)

    @property
    def bucket_name(self) -> str:
        return self.bucket or f"{self.project}-models"

    @property
    def storage_location(self) -> str:
        return (self.bucket_location or self.region).lower()

    @property
    def topics(self) -> tuple[str, ...]:
        return inventory.TOPICS

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        """The inventory's jobs; SCHEDULE / TIME_ZONE / SCHEDULER_JOB override the nightly reminder's."""
        return tuple(self._override(s) for s in inventory.SCHEDULES)

    def _override(self, job: Schedule) -> Schedule:
        if job.topic != inventory.RETRAIN_REMINDER:
            return job
        return replace(
            job,
            job=self.scheduler_job or job.job,
            cron=self.schedule or job.cron,
            time_zone=self.time_zone or job.time_zone,
        )

    @property
    def registry_url(self) -> str:
        return f"bigquery://{self.project}/{self.dataset}?location={self.bq_location}"

    def secret_of(self, env: str) -> str:
        """The Secret Manager secret mounted as environment variable ``env``."""
        secrets = {SLACK_WEBHOOK_URL: self.slack_secret}
        if env not in secrets:
            raise ConfigError(f"no Secret Manager secret is configured for {env}")
        return secrets[env]

    def sa_email(self, fn: Function) -> str:
        return f"{fn.sa_id}@{self.project}.iam.gserviceaccount.com"

    def dead_letter_of(self, fn: Function) -> str:
        return inventory.STORAGE_DEAD_LETTER if fn.trigger == "storage" else inventory.dead_letter(fn.topic)

    def validate(self) -> DeployConfig:
        """Return self, or raise ``ConfigError`` naming the setting to fix."""
        _check("PROJECT", self.project, _PROJECT, "6-30 lower-case letters, digits or hyphens")
        _check("REGION", self.region, _REGION, "a Cloud region such as us-west2")
        _check("DATASET", self.dataset, _DATASET, "letters, digits and underscores")
        _check("BUCKET", self.bucket_name, _BUCKET, "a bucket name (3-63 lower-case characters)")
        _check("SLACK_SECRET", self.slack_secret, _RESOURCE, "lower-case letters, digits, hyphens")
        for job in self.schedules:
            _check("SCHEDULER_JOB", job.job, _RESOURCE, "lower-case letters, digits, hyphens")
            if len(job.cron.split()) != 5:
                raise ConfigError(f"SCHEDULE must be a 5-field cron expression like '0 9 * * *', got {job.cron!r}")
        if not 5 <= self.max_delivery_attempts <= 100:
            raise ConfigError("MAX_DELIVERY_ATTEMPTS must be between 5 and 100 (Pub/Sub's limits)")
        names = [fn.deployed_name for fn in self.functions]
        if len(set(names)) != len(names) or len({fn.sa_id for fn in self.functions}) != len(names):
            raise ConfigError("function names and service accounts must be unique (one service account each)")
        for fn in self.functions:
            name = fn.deployed_name
            _check(f"function {name}", name, _RESOURCE, "lower-case letters, digits, hyphens")
            _check(f"service account of {name}", fn.sa_id, _SA_ID, "6-30 lower-case letters, digits, hyphens")
            if fn.trigger == "pubsub" and fn.topic not in self.topics:
                raise ConfigError(f"function {name} listens on unknown topic {fn.topic!r}")
        return self


def _check(name: str, value: str, pattern: re.Pattern[str], what: str) -> None:
    if not pattern.match(value or ""):
        raise ConfigError(f"{name} must be {what}, got {value!r}")
