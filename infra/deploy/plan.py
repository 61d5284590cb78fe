"""The planner: ``DeployConfig`` → the ordered list of ``Step``s. Pure: it runs nothing.

Order matters and is tested: APIs; the values later steps need (project number,
service agents); one service account per function and its project roles; the
models bucket; topics, their dead-letter topics and subscriptions; the Slack
secret; ``modelctl migrate`` (dataset and tables) and dataset access; staging;
then each function with its Eventarc trigger and dead-letter policy, the
prediction worker service, and last the nightly scheduler job.
"""

from __future__ import annotations

from common import inventory
from common.inventory import Schedule
from common.settings import SLACK_WEBHOOK_URL
from infra.deploy.config import PUBSUB_AGENT, DeployConfig
from infra.deploy.functions import function_steps, worker_steps
from infra.deploy.steps import Step, gcloud

APIS = (
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
)
GCS_AGENT = "serviceAccount:${GCS_SERVICE_AGENT}"


def plan(cfg: DeployConfig) -> list[Step]:
    """Every step of a deployment, in the order it must run."""
    cfg.validate()
    return [
        *_apis(cfg),
        *_lookups(cfg),
        *_service_accounts(cfg),
        *_bucket(cfg),
        *_topics(cfg),
        *_secret(cfg),
        *_registry(cfg),
        *_stage(cfg),
        *[step for fn in cfg.functions if fn.trigger != "http" for step in function_steps(cfg, fn)],
        *[step for fn in cfg.functions if fn.trigger == "http" for step in worker_steps(cfg, fn)],
        *_scheduler(cfg),
    ]


def _apis(cfg: DeployConfig) -> list[Step]:
    return [Step("api", "enable the APIs", gcloud("services", "enable", *APIS, f"--project={cfg.project}"))]


def _lookups(cfg: DeployConfig) -> list[Step]:
    p = f"--project={cfg.project}"
    return [
        Step(
            "lookup",
            "look up the project number (names the Pub/Sub service agent)",
            gcloud("projects", "describe", cfg.project, "--format=value(projectNumber)"),
            capture="PROJECT_NUMBER",
            hint="Is PROJECT right, and are you logged in (`gcloud auth login`)?",
        ),
        Step(
            "lookup",
            "look up the Cloud Storage service agent (publishes finalize events)",
            gcloud("storage", "service-agent", p),
            capture="GCS_SERVICE_AGENT",
        ),
    ]


def _binding(resource: tuple[str, ...], p: str, member: str, role: str, what: str) -> Step:
    """``gcloud <kind…> add-iam-policy-binding <name>``: ``member`` gets ``role`` on one resource."""
    *kind, name = resource
    argv = gcloud(*kind, "add-iam-policy-binding", name, p, f"--member={member}", f"--role={role}", "--format=none")
    return Step("iam", what, argv, attempts=3)


def _project_binding(cfg: DeployConfig, member: str, role: str, what: str) -> Step:
    argv = gcloud(
        "projects",
        "add-iam-policy-binding",
        cfg.project,
        f"--member={member}",
        f"--role={role}",
        "--condition=None",
        "--format=none",
    )
    return Step("iam", what, argv, attempts=3)


def _service_accounts(cfg: DeployConfig) -> list[Step]:
    steps: list[Step] = []
    p = f"--project={cfg.project}"
    for fn in cfg.functions:
        email = cfg.sa_email(fn)
        steps.append(
            Step(
                "service-account",
                f"service account of {fn.deployed_name}",
                gcloud(
                    "iam",
                    "service-accounts",
                    "create",
                    fn.sa_id,
                    p,
                    f"--display-name={fn.deployed_name} ({fn.trigger})",
                ),
                unless=gcloud("iam", "service-accounts", "describe", email, p, "--format=value(email)"),
            )
        )
    for fn in cfg.functions:
        member = f"serviceAccount:{cfg.sa_email(fn)}"
        steps.append(
            _project_binding(cfg, member, "roles/bigquery.jobUser", f"{fn.deployed_name} may run BigQuery jobs")
        )
        if fn.trigger != "http":
            role = "roles/eventarc.eventReceiver"
            steps.append(_project_binding(cfg, member, role, f"{fn.deployed_name} may receive Eventarc events"))
    steps.append(
        _project_binding(cfg, GCS_AGENT, "roles/pubsub.publisher", "Cloud Storage may publish finalize events")
    )
    return steps


def _bucket(cfg: DeployConfig) -> list[Step]:
    url, p = f"gs://{cfg.bucket_name}", f"--project={cfg.project}"
    create = gcloud(
        "storage",
        "buckets",
        "create",
        url,
        p,
        f"--location={cfg.storage_location}",
        "--uniform-bucket-level-access",
        "--public-access-prevention",
    )
    steps = [
        Step(
            "bucket",
            f"models bucket {url}",
            create,
            unless=gcloud("storage", "buckets", "describe", url, p, "--format=value(name)"),
        )
    ]
    for fn in cfg.functions:
        if fn.bucket_role:
            member, what = f"serviceAccount:{cfg.sa_email(fn)}", f"{fn.deployed_name}: {fn.bucket_role} on {url}"
            steps.append(_binding(("storage", "buckets", url), p, member, fn.bucket_role, what))
    return steps


def _topic(cfg: DeployConfig, topic: str, what: str) -> Step:
    p = f"--project={cfg.project}"
    return Step(
        "topic",
        what,
        gcloud("pubsub", "topics", "create", topic, p),
        unless=gcloud("pubsub", "topics", "describe", topic, p, "--format=value(name)"),
    )


def _topics(cfg: DeployConfig) -> list[Step]:
    p = f"--project={cfg.project}"
    steps = [_topic(cfg, topic, f"topic {topic}") for topic in cfg.topics]
    for dead in [inventory.dead_letter(topic) for topic in cfg.topics] + [inventory.STORAGE_DEAD_LETTER]:
        steps.append(_topic(cfg, dead, f"dead-letter topic {dead}"))
        sub = f"{dead}-sub"
        create = gcloud(
            "pubsub",
            "subscriptions",
            "create",
            sub,
            f"--topic={dead}",
            p,
            "--message-retention-duration=7d",
            "--expiration-period=never",
        )
        steps.append(
            Step(
                "subscription",
                f"subscription {sub} keeps what could not be delivered",
                create,
                unless=gcloud("pubsub", "subscriptions", "describe", sub, p, "--format=value(name)"),
            )
        )
        what = f"Pub/Sub may forward undeliverable messages to {dead}"
        steps.append(_binding(("pubsub", "topics", dead), p, PUBSUB_AGENT, "roles/pubsub.publisher", what))
    for fn in cfg.functions:
        for topic in fn.publishes:
            member, what = f"serviceAccount:{cfg.sa_email(fn)}", f"{fn.deployed_name} may publish on {topic}"
            steps.append(_binding(("pubsub", "topics", topic), p, member, "roles/pubsub.publisher", what))
    return steps


def _secret(cfg: DeployConfig) -> list[Step]:
    s, p = cfg.slack_secret, f"--project={cfg.project}"
    steps = [
        Step(
            "secret",
            f"secret {s} (the Slack webhook)",
            gcloud("secrets", "create", s, p, "--replication-policy=automatic"),
            unless=gcloud("secrets", "describe", s, p, "--format=value(name)"),
        )
    ]
    if cfg.set_slack_webhook:
        steps.append(
            Step(
                "secret",
                f"store {SLACK_WEBHOOK_URL} as the latest version of {s} (unless it already is)",
                gcloud("secrets", "versions", "add", s, p, "--data-file=-"),
                unless=gcloud("secrets", "versions", "access", "latest", f"--secret={s}", p),
                stdin_env=SLACK_WEBHOOK_URL,
            )
        )
    else:
        steps.append(
            Step(
                "secret",
                f"secret {s} has a version to mount",
                gcloud("secrets", "versions", "describe", "latest", f"--secret={s}", p, "--format=value(name)"),
                hint=f"Run once with {SLACK_WEBHOOK_URL}=https://hooks.slack.com/... set: "
                f"`make deploy PROJECT=... REGION=... {SLACK_WEBHOOK_URL}=...`.",
            )
        )
    for fn in cfg.functions:
        if SLACK_WEBHOOK_URL in fn.secrets:
            member, role = f"serviceAccount:{cfg.sa_email(fn)}", "roles/secretmanager.secretAccessor"
            steps.append(_binding(("secrets", s), p, member, role, f"{fn.deployed_name} may read {s}"))
    return steps


def _registry(cfg: DeployConfig) -> list[Step]:
    migrate = Step(
        "migrate",
        f"BigQuery dataset {cfg.project}.{cfg.dataset} and tables (modelctl migrate)",
        (cfg.modelctl, "--registry-url", cfg.registry_url, "migrate"),
        hint="modelctl uses Application Default Credentials: `gcloud auth application-default login`.",
    )
    access = [f"--{fn.dataset_access.lower()}={cfg.sa_email(fn)}" for fn in cfg.functions]
    grant = Step(
        "iam",
        f"dataset access on {cfg.dataset} for each function (READER or WRITER, nothing project-wide)",
        (cfg.python, "-m", "infra.deploy.bq_access", f"--project={cfg.project}", f"--dataset={cfg.dataset}", *access),
        attempts=3,
    )
    return [migrate, grant]


def _stage(cfg: DeployConfig) -> list[Step]:
    sources = [fn.source for fn in cfg.functions]
    argv = (cfg.python, "-m", "infra.deploy.stage", f"--dist={cfg.dist}", *sources)
    what = f"stage {', '.join(sources)} into {cfg.dist}/, each with the common/ modules it imports and its requirements"
    return [Step("stage", what, argv)]


def _scheduler(cfg: DeployConfig) -> list[Step]:
    return [_schedule(cfg, job) for job in cfg.schedules]


def _schedule(cfg: DeployConfig, job: Schedule) -> Step:
    p, loc = f"--project={cfg.project}", f"--location={cfg.region}"
    common = (
        f"--schedule={job.cron}",
        f"--time-zone={job.time_zone}",
        f"--topic={job.topic}",
        f"--message-body={job.message_body}",
    )
    return Step(
        "scheduler",
        f"scheduled job {job.job}: '{job.cron}' {job.time_zone} → {job.topic}",
        gcloud(
            "scheduler", "jobs", "create", "pubsub", job.job, loc, p, *common, "--attributes=origin=cloud-scheduler"
        ),
        unless=gcloud("scheduler", "jobs", "describe", job.job, loc, p, "--format=value(name)"),
        otherwise=gcloud(
            "scheduler",
            "jobs",
            "update",
            "pubsub",
            job.job,
            loc,
            p,
            *common,
            "--update-attributes=origin=cloud-scheduler",
        ),
    )
