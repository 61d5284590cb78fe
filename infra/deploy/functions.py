"""Steps that ship code: each 2nd-gen function with its Eventarc trigger, and the worker service.

A function's trigger is created by ``gcloud functions deploy`` (``--trigger-topic`` or
finalize ``--trigger-event-filters``, ``--retry``); Eventarc names the Pub/Sub
subscription behind it, so the plan looks it up after the deploy and gives it a
dead-letter topic, a bounded number of attempts and a backoff.
"""

from __future__ import annotations

from common.errors import ConfigError
from common.inventory import Function
from common.settings import Settings
from infra.deploy.config import PUBSUB_AGENT, DeployConfig, shell_var
from infra.deploy.steps import Step, gcloud

MIN_RETRY_DELAY, MAX_RETRY_DELAY = "10s", "600s"


def deployed_settings(cfg: DeployConfig, fn: Function) -> Settings:
    """The settings ``fn`` runs with in the cloud; the variables that carry them are named and chosen
    by ``common/settings.py``'s ``ENVIRONMENT`` (:meth:`Settings.to_env`)."""
    return Settings(
        gcp_project=cfg.project,
        registry_url=cfg.registry_url,
        bucket_url=f"gs://{cfg.bucket_name}",
        event_bus_url=f"pubsub://{cfg.project}",
        max_event_age_seconds=cfg.max_event_age_seconds,
        actor=fn.deployed_name,
        # The deployed source folder is read-only; /tmp is the instance's writable disk.
        model_cache_dir="/tmp/model-cache",
        manifest_poll_seconds=1.0,
    )


def _env(cfg: DeployConfig, fn: Function) -> dict[str, str]:
    return deployed_settings(cfg, fn).to_env(fn.name)


def env_flag(env: dict[str, str]) -> str:
    """``--set-env-vars``; gcloud's ``^D^`` syntax picks a delimiter no value contains."""
    text = "".join(f"{k}{v}" for k, v in env.items())
    delimiter = next((d for d in ",@|;#~" if d not in text), None)
    if delimiter is None:
        raise ConfigError("environment values use every delimiter gcloud could split on")
    body = delimiter.join(f"{k}={v}" for k, v in env.items())
    return f"--set-env-vars={body}" if delimiter == "," else f"--set-env-vars=^{delimiter}^{body}"


def _trigger(cfg: DeployConfig, fn: Function) -> tuple[tuple[str, ...], str]:
    """The trigger flags of ``gcloud functions deploy`` and the trigger's location."""
    if fn.trigger == "storage":  # a storage trigger lives where its bucket is
        filters = (
            f"--trigger-event-filters=type={fn.event_type}",
            f"--trigger-event-filters=bucket={cfg.bucket_name}",
        )
        return (*filters, f"--trigger-location={cfg.storage_location}"), cfg.storage_location
    return (f"--trigger-topic={fn.topic}",), cfg.region


def _secrets(cfg: DeployConfig, fn: Function) -> tuple[str, ...]:
    """Secret Manager secrets mounted as the function's environment variables."""
    return tuple(f"--set-secrets={env}={cfg.secret_of(env)}:latest" for env in fn.secrets)


def deploy_function(cfg: DeployConfig, fn: Function) -> Step:
    """Create or update one 2nd-gen function with its trigger (``deploy`` is itself idempotent)."""
    email = cfg.sa_email(fn)
    secrets = _secrets(cfg, fn)
    sizing = (f"--memory={fn.memory}", f"--timeout={fn.timeout_seconds}s", f"--max-instances={fn.max_instances}")
    argv = gcloud(
        *("functions", "deploy", fn.deployed_name, "--gen2", f"--project={cfg.project}", f"--region={cfg.region}"),
        *(f"--runtime={cfg.runtime}", f"--source={cfg.dist}/{fn.source}", f"--entry-point={fn.target}"),
        f"--service-account={email}",
        *sizing,
        "--ingress-settings=internal-only",  # Eventarc's deliveries are internal traffic
        "--no-allow-unauthenticated",
        env_flag(_env(cfg, fn)),
        *secrets,
        *_trigger(cfg, fn)[0],
        f"--trigger-service-account={email}",
        "--retry",
    )
    return Step("function", f"function {fn.deployed_name} ({fn.trigger} trigger, retries on)", argv)


def dead_letter_steps(cfg: DeployConfig, fn: Function) -> list[Step]:
    """Find the subscription Eventarc made for ``fn`` and bound its redeliveries."""
    p, trig, sub, dead = (
        f"--project={cfg.project}",
        f"{shell_var(fn)}_TRIGGER",
        f"{shell_var(fn)}_SUBSCRIPTION",
        cfg.dead_letter_of(fn),
    )
    describe_function = ("functions", "describe", fn.deployed_name, "--gen2", f"--region={cfg.region}", p)
    describe_trigger = ("eventarc", "triggers", "describe", f"${{{trig}}}", f"--location={_trigger(cfg, fn)[1]}", p)
    policy = (
        f"--dead-letter-topic=projects/{cfg.project}/topics/{dead}",
        f"--max-delivery-attempts={cfg.max_delivery_attempts}",
        f"--min-retry-delay={MIN_RETRY_DELAY}",
        f"--max-retry-delay={MAX_RETRY_DELAY}",
    )
    grant = (f"--member={PUBSUB_AGENT}", "--role=roles/pubsub.subscriber", "--format=none")
    return [
        Step(
            "lookup",
            f"the Eventarc trigger of {fn.deployed_name}",
            gcloud(*describe_function, "--format=value(eventTrigger.trigger)"),
            capture=trig,
        ),
        Step(
            "lookup",
            f"the Pub/Sub subscription behind {fn.deployed_name}'s trigger",
            gcloud(*describe_trigger, "--format=value(transport.pubsub.subscription)"),
            capture=sub,
        ),
        Step(
            "subscription",
            f"{fn.deployed_name}: after {cfg.max_delivery_attempts} attempts with backoff, messages go to {dead}",
            gcloud("pubsub", "subscriptions", "update", f"${{{sub}}}", p, *policy),
        ),
        Step(
            "iam",
            f"Pub/Sub may acknowledge what it dead-letters from {fn.deployed_name}'s subscription",
            gcloud("pubsub", "subscriptions", "add-iam-policy-binding", f"${{{sub}}}", p, *grant),
            attempts=3,
        ),
    ]


def function_steps(cfg: DeployConfig, fn: Function) -> list[Step]:
    """Deploy, let the trigger's identity invoke the function, then its dead-letter policy."""
    member = f"--member=serviceAccount:{cfg.sa_email(fn)}"
    invoker = gcloud(
        "functions",
        "add-invoker-policy-binding",
        fn.deployed_name,
        f"--region={cfg.region}",
        f"--project={cfg.project}",
        member,
    )
    return [
        deploy_function(cfg, fn),
        Step("iam", f"{fn.deployed_name}'s trigger may invoke it", invoker, attempts=3),
        *dead_letter_steps(cfg, fn),
    ]


def worker_steps(cfg: DeployConfig, fn: Function) -> list[Step]:
    """An HTTP function (the prediction worker, the dashboard): a Cloud Run service built from its staged folder.

    A service rather than a function so that CPU can stay allocated between requests
    (``--no-cpu-throttling`` where the inventory says so): the worker's manifest poller
    hot-reloads models in the background. Callers need ``roles/run.invoker``.
    """
    argv = gcloud(
        *("run", "deploy", fn.deployed_name, f"--project={cfg.project}", f"--region={cfg.region}"),
        *(f"--source={cfg.dist}/{fn.source}", f"--function={fn.target}", f"--base-image={cfg.runtime}"),
        f"--service-account={cfg.sa_email(fn)}",
        "--no-allow-unauthenticated",
        "--no-cpu-throttling" if fn.cpu_always_on else "--cpu-throttling",
        *(f"--min-instances={fn.min_instances}", f"--max-instances={fn.max_instances}"),
        *(f"--memory={fn.memory}", "--cpu=1", f"--timeout={fn.timeout_seconds}"),
        env_flag(_env(cfg, fn)),
        *_secrets(cfg, fn),
    )
    return [Step("service", f"HTTP service {fn.deployed_name} (Cloud Run, from {cfg.dist}/{fn.source})", argv)]
