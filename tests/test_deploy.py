"""`make deploy`: the plan's contents and order, the executor's idempotency, DRY_RUN,
staging, and every generated gcloud command checked by the installed gcloud.

No test reaches Google: the gcloud check runs each command under ``unshare -n``
(loopback only) with a throw-away CLOUDSDK_CONFIG, where the only acceptable
failure is the missing-credentials one.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from common.errors import ConfigError
from common.settings import ENVIRONMENT, Settings
from infra.deploy.__main__ import main as deploy_main
from infra.deploy.config import DeployConfig, shell_var
from infra.deploy.functions import env_flag
from infra.deploy.plan import plan
from infra.deploy.stage import REPO_ROOT, available_functions, stage
from infra.deploy.steps import Argv, Executor, Result, Step, StepFailed, render, render_plan
from tests.support import gcloud_offline

CFG = DeployConfig(project="nba-props-platform", region="us-west2")
STEPS = plan(CFG)
EVENT_FNS = [fn for fn in CFG.functions if fn.trigger != "http"]
WORKER = next(fn for fn in CFG.functions if fn.trigger == "http")


def index(predicate: Callable[[Step], bool]) -> list[int]:
    return [i for i, step in enumerate(STEPS) if predicate(step)]


def runs(*words: str) -> list[int]:
    """Indexes of steps whose command (create, or update) starts with ``words``."""
    n = len(words)
    return index(lambda s: s.run[:n] == words or s.otherwise[:n] == words)


def flag(argv: Argv, name: str) -> list[str]:
    return [a.split("=", 1)[1] for a in argv if a.startswith(f"{name}=")]


def deploy_step(name: str) -> Step:
    (i,) = [
        i for i in runs("gcloud", "functions", "deploy") + runs("gcloud", "run", "deploy") if STEPS[i].run[3] == name
    ]
    return STEPS[i]


# -- what the plan creates ------------------------------------------------------------------
def test_every_resource_is_in_the_plan() -> None:
    migrate = [s for s in STEPS if s.kind == "migrate"]
    assert [s.run for s in migrate] == [
        (".venv/bin/modelctl", "--registry-url", "bigquery://nba-props-platform/nba_predictions?location=US", "migrate")
    ]
    assert runs("gcloud", "storage", "buckets", "create", "gs://nba-props-platform-models")
    created_topics = {STEPS[i].run[4] for i in runs("gcloud", "pubsub", "topics", "create")}
    for topic in ("registry-change", "graded-games", "retrain-reminder"):
        assert {topic, f"{topic}-dead-letter"} <= created_topics
    created_subs = {STEPS[i].run[4] for i in runs("gcloud", "pubsub", "subscriptions", "create")}
    assert {f"{t}-sub" for t in created_topics if t.endswith("-dead-letter")} == created_subs
    job, nightly = [STEPS[i] for i in runs("gcloud", "scheduler", "jobs", "create", "pubsub")]
    assert flag(job.run, "--schedule") == ["0 9 * * *"] and flag(job.run, "--time-zone") == ["America/New_York"]
    assert flag(job.run, "--topic") == ["retrain-reminder"]
    assert job.unless[:4] == ("gcloud", "scheduler", "jobs", "describe") and job.otherwise[3] == "update"
    # the safety net for a box-score producer that forgets: yesterday, every morning
    assert nightly.run[5] == "graded-games-nightly" and flag(nightly.run, "--topic") == ["graded-games"]
    assert flag(nightly.run, "--schedule") == ["0 6 * * *"]
    assert json.loads(flag(nightly.run, "--message-body")[0]) == {"job": "graded-games-nightly"}
    assert runs("gcloud", "secrets", "create", "slack-webhook-url")
    worker = deploy_step(WORKER.deployed_name)
    assert WORKER.deployed_name == "prediction-worker"  # the legacy service name
    assert flag(worker.run, "--source") == ["dist/predict"] and flag(worker.run, "--function") == ["predict"]
    assert "--no-cpu-throttling" in worker.run and "--no-allow-unauthenticated" in worker.run


def test_each_event_function_is_gen2_with_its_eventarc_trigger_and_retries() -> None:
    for fn in EVENT_FNS:
        argv = deploy_step(fn.deployed_name).run
        assert "--gen2" in argv and "--retry" in argv, fn.deployed_name
        assert flag(argv, "--source") == [f"dist/{fn.source}"] and flag(argv, "--entry-point") == [fn.target]
        assert flag(argv, "--trigger-service-account") == flag(argv, "--service-account")
        if fn.trigger == "storage":
            assert flag(argv, "--trigger-event-filters") == [
                "type=google.cloud.storage.object.v1.finalized",
                "bucket=nba-props-platform-models",
            ]
        else:
            assert flag(argv, "--trigger-topic") == [fn.topic]
    topics = {fn.deployed_name: fn.topic for fn in EVENT_FNS if fn.topic}
    assert topics == {
        "on-registry-change": "registry-change",
        "retrain-reminder": "retrain-reminder",
        "update-performance": "graded-games",
    }


def test_functions_are_configured_for_production_backends() -> None:
    for fn in CFG.functions:
        (env,) = flag(deploy_step(fn.deployed_name).run, "--set-env-vars")
        values = dict(kv.split("=", 1) for kv in env.split(","))
        assert values["MODEL_REGISTRY_URL"].startswith("bigquery://nba-props-platform/nba_predictions")
        assert values["MODEL_BUCKET_URL"] == "gs://nba-props-platform-models"
        assert values["EVENT_BUS_URL"] == "pubsub://nba-props-platform"  # never inprocess:// in the cloud
        assert values["GOOGLE_CLOUD_PROJECT"] == "nba-props-platform"
        # the names, and which function gets which, come from common/settings.py's one table
        assert set(values) == {v.name for v in ENVIRONMENT if v.sets(fn.name) and not v.secret}
        assert Settings.from_env(values).max_event_age_seconds == Settings.max_event_age_seconds


def test_one_service_account_per_function() -> None:
    accounts = [flag(deploy_step(fn.deployed_name).run, "--service-account")[0] for fn in CFG.functions]
    assert len(set(accounts)) == len(CFG.functions)
    created = {f"{STEPS[i].run[4]}@nba-props-platform.iam.gserviceaccount.com" for i in runs("gcloud", "iam")}
    assert set(accounts) == created


def test_roles_are_least_privilege() -> None:
    project_roles = {flag(STEPS[i].run, "--role")[0] for i in runs("gcloud", "projects", "add-iam-policy-binding")}
    assert project_roles == {"roles/bigquery.jobUser", "roles/eventarc.eventReceiver", "roles/pubsub.publisher"}
    for step in STEPS:
        for role in flag(step.run, "--role"):
            assert not re.search(r"admin|owner|editor$", role), (role, step.what)
    (grant,) = [s for s in STEPS if s.run[2:3] == ("infra.deploy.bq_access",)]
    assert sum(a.startswith(("--reader=", "--writer=")) for a in grant.run) == len(CFG.functions)
    assert f"--writer={CFG.sa_email(CFG.functions[1])}" in grant.run  # on_registry_change: notifications


def test_slack_secret_is_mounted_as_slack_webhook_url_where_needed_only() -> None:
    for fn in CFG.functions:
        mounted = flag(deploy_step(fn.deployed_name).run, "--set-secrets")
        assert mounted == (["SLACK_WEBHOOK_URL=slack-webhook-url:latest"] if fn.secrets else []), fn.deployed_name
    readers = {flag(STEPS[i].run, "--member")[0] for i in runs("gcloud", "secrets", "add-iam-policy-binding")}
    assert readers == {f"serviceAccount:{CFG.sa_email(fn)}" for fn in CFG.functions if fn.secrets}
    assert {fn.deployed_name for fn in CFG.functions if fn.secrets} == {
        "on-registry-change",
        "retrain-reminder",
        "update-performance",
        "prediction-worker",
    }


def test_every_trigger_gets_a_dead_letter_topic() -> None:
    created_topics = {STEPS[i].run[4] for i in runs("gcloud", "pubsub", "topics", "create")}
    updates = [STEPS[i].run for i in runs("gcloud", "pubsub", "subscriptions", "update")]
    assert len(updates) == len(EVENT_FNS)
    for argv in updates:
        (dead,) = flag(argv, "--dead-letter-topic")
        assert dead.removeprefix("projects/nba-props-platform/topics/") in created_topics
        assert flag(argv, "--max-delivery-attempts") == [str(CFG.max_delivery_attempts)]
    agent_grants = [STEPS[i] for i in runs("gcloud", "pubsub") if "gcp-sa-pubsub" in " ".join(STEPS[i].run)]
    assert len(agent_grants) == 2 * len(EVENT_FNS)  # publisher on each DLT, subscriber on each trigger subscription


# -- order ----------------------------------------------------------------------------------
def test_order_iam_topics_migrate_before_functions() -> None:
    first_deploy = min(index(lambda s: s.kind in ("function", "service")))
    before = index(lambda s: s.kind in ("service-account", "bucket", "topic", "secret", "migrate", "stage"))
    assert max(before) < first_deploy
    after_deploy = ("_SUBSCRIPTION}", "add-invoker-policy-binding")  # these need the function to exist
    runtime_grants = index(lambda s: s.kind == "iam" and not any(w in " ".join(s.run) for w in after_deploy))
    assert max(runtime_grants) < first_deploy
    for fn in EVENT_FNS:
        deploy = STEPS.index(deploy_step(fn.deployed_name))
        if fn.topic:
            assert max(runs("gcloud", "pubsub", "topics", "create", fn.topic)) < deploy
        (update,) = [i for i in runs("gcloud", "pubsub", "subscriptions", "update") if shell_var(fn) in STEPS[i].run[4]]
        assert deploy < update  # the subscription Eventarc made exists once the function does
    for i in runs("gcloud", "pubsub", "subscriptions", "create"):
        topic = flag(STEPS[i].run, "--topic")[0]
        assert max(runs("gcloud", "pubsub", "topics", "create", topic)) < i
    assert index(lambda s: s.kind == "migrate")[0] < index(lambda s: s.run[2:3] == ("infra.deploy.bq_access",))[0]
    reminder, graded = runs("gcloud", "scheduler", "jobs", "create")
    assert (reminder, graded) == (len(STEPS) - 2, len(STEPS) - 1)
    assert STEPS.index(deploy_step("retrain-reminder")) < reminder
    assert STEPS.index(deploy_step("update-performance")) < graded


def test_variables_are_captured_before_use() -> None:
    seen: set[str] = set()
    for step in STEPS:
        for argv in step.commands():
            assert set(re.findall(r"\$\{(\w+)\}", " ".join(argv))) <= seen, step.what
        seen |= {step.capture} if step.capture else set()


def test_commands_are_argv_lists_and_never_bq_or_gsutil() -> None:
    for step in STEPS:
        for argv in step.commands():
            assert isinstance(argv, tuple) and all(isinstance(a, str) for a in argv)
            assert argv[0] in {"gcloud", ".venv/bin/modelctl", ".venv/bin/python"}, argv
            assert not {"bq", "gsutil"} & set(argv)
            if argv[0] == "gcloud":
                assert argv[-1] == "--quiet"


def test_config_errors_name_the_setting() -> None:
    with pytest.raises(ConfigError, match="PROJECT"):
        plan(DeployConfig(project="Bad_Project", region="us-west2"))
    with pytest.raises(ConfigError, match="SCHEDULE"):
        plan(DeployConfig(project="my-project", region="us-west2", schedule="nightly"))
    assert deploy_main(["--dry-run"], env={"REGION": "us-west2"}) == ConfigError.exit_code


def test_env_values_with_commas_switch_the_delimiter() -> None:
    assert env_flag({"A": "1", "B": "x"}) == "--set-env-vars=A=1,B=x"
    assert (
        env_flag({"REMINDER_LEVEL_DAYS": "10,14,21", "B": "x"}) == "--set-env-vars=^@^REMINDER_LEVEL_DAYS=10,14,21@B=x"
    )


# -- DRY_RUN and the executor ---------------------------------------------------------------
def test_dry_run_prints_every_command_in_order_and_runs_nothing(tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    record = tmp_path / "ran.txt"
    for tool in ("gcloud", "bq", "gsutil"):
        (fake_bin / tool).write_text(f'#!/bin/sh\necho "$0 $*" >> {record}\n')
        (fake_bin / tool).chmod(0o755)
    env = {
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "PROJECT": "nba-props-platform",
        "REGION": "us-west2",
        "DRY_RUN": "1",
        "DIST": str(tmp_path / "dist"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "infra.deploy"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert not record.exists() and not (tmp_path / "dist").exists()
    lines = [line for line in out.splitlines() if not line.startswith(("#", "set -"))]
    expected = plan(DeployConfig(project="nba-props-platform", region="us-west2", dist=str(tmp_path / "dist")))
    assert lines == [render(step) for step in expected]
    subprocess.run(["bash", "-n"], input=out, text=True, check=True)  # valid shell


class FakeCloud:
    """Every resource exists or none does; lookups answer; records what runs."""

    def __init__(self, steps: list[Step], exists: bool, secret: str = "") -> None:
        self.checks = {s.unless for s in steps if s.unless}
        self.exists, self.secret = exists, secret
        self.ran: list[tuple[Argv, str | None]] = []

    def __call__(self, argv: Argv, *, stdin: str | None, capture: bool) -> Result:
        self.ran.append((argv, stdin))
        if argv in self.checks:
            return Result(0, self.secret if "access" in argv else "name") if self.exists else Result(1, "", "NOT_FOUND")
        return Result(0, "captured-value\n" if capture else "")


def execute(cloud: FakeCloud, steps: list[Step], env: dict[str, str] | None = None) -> list[str]:
    said: list[str] = []
    Executor(runner=cloud, env=env or {}, say=said.append, retry_delay=0).execute(steps)
    return said


def test_executor_creates_missing_resources_then_skips_them_on_a_second_run() -> None:
    secret = "https://hooks.slack.com/services/T/B/secret"
    steps = plan(DeployConfig(project="nba-props-platform", region="us-west2", set_slack_webhook=True))
    first = FakeCloud(steps, exists=False)
    said = execute(first, steps, {"SLACK_WEBHOOK_URL": secret})
    creates = [argv for argv, _ in first.ran if "create" in argv[:5]]
    assert len(creates) == len([s for s in steps if s.unless and "create" in s.run[:5]])
    assert all("${" not in a for argv, _ in first.ran for a in argv)
    assert [stdin for argv, stdin in first.ran if "add" in argv[:4] and "versions" in argv] == [secret]
    assert secret not in "\n".join(said)
    second = FakeCloud(steps, exists=True, secret=secret)
    execute(second, steps, {"SLACK_WEBHOOK_URL": secret})
    assert not [argv for argv, _ in second.ran if "create" in argv[:5] or "versions" in argv and "add" in argv]
    assert any(argv[:5] == ("gcloud", "scheduler", "jobs", "update", "pubsub") for argv, _ in second.ran)


def test_executor_stops_at_a_failure_with_the_hint_and_retries_iam() -> None:
    calls: list[Argv] = []

    def flaky(argv: Argv, *, stdin: str | None, capture: bool) -> Result:
        calls.append(argv)
        return Result(1 if len(calls) < 3 else 0, "", "ERROR: not yet\n")

    iam = Step("iam", "grant", ("gcloud", "x"), attempts=3)
    Executor(runner=flaky, say=lambda _: None, retry_delay=0).execute([iam])
    assert len(calls) == 3
    failing = Step("secret", "secret has a version", ("gcloud", "y"), hint="Set SLACK_WEBHOOK_URL.")
    with pytest.raises(StepFailed, match=r"secret has a version: `gcloud y` exited 1 \(ERROR: nope\)\. Set SLACK"):
        Executor(runner=lambda a, **k: Result(1, "", "ERROR: nope"), say=lambda _: None).execute([failing])


def test_executor_runs_real_processes_without_a_shell() -> None:
    want = "value with spaces; $(no shell)"
    steps = [
        Step("lookup", "capture", ("printf", "%s", want), capture="V"),
        Step("x", "skipped", ("false",), unless=("true",)),
        Step(
            "x",
            "created",
            (sys.executable, "-c", f"import sys; sys.exit(sys.argv[1] != {want!r})", "${V}"),
            unless=("false",),
        ),
        Step("x", "stdin", ("sh", "-c", 'test "$(cat)" = "s3cret"'), stdin_env="TOKEN"),
    ]
    Executor(env={"TOKEN": "s3cret"}, say=lambda _: None).execute(steps)
    with pytest.raises(StepFailed, match="exited 1"):
        Executor(say=lambda _: None).execute([Step("x", "fails", ("false",))])


def test_render_keeps_variables_expandable_and_quotes_the_rest() -> None:
    step = Step("x", "x", ("gcloud", "a b", "--member=serviceAccount:${GCS_SERVICE_AGENT}", "$HOME"), capture="V")
    assert render(step) == "V=$(gcloud 'a b' \"--member=serviceAccount:${GCS_SERVICE_AGENT}\" '$HOME')"
    assert render_plan([step]).startswith("#!/usr/bin/env bash\n")


# -- staging (what a staged folder holds and that it runs alone: tests/test_staging.py) -------
def test_every_planned_function_has_a_source_folder() -> None:
    assert {fn.source for fn in CFG.functions} <= set(available_functions())


def test_staging_replaces_stale_files_and_refuses_unknown_functions(tmp_path: Path) -> None:
    (tmp_path / "register_model").mkdir()
    (tmp_path / "register_model" / "stale.py").write_text("")
    stage(["register_model"], tmp_path)
    assert not (tmp_path / "register_model" / "stale.py").exists()
    with pytest.raises(ConfigError, match="no_such_function"):
        stage(["register_model", "no_such_function"], tmp_path / "other")
    assert not (tmp_path / "other").exists()


# -- the installed gcloud accepts every command ----------------------------------------------
DUMMIES = {
    "PROJECT_NUMBER": "123456789012",
    "GCS_SERVICE_AGENT": "service-123456789012@gs-project-accounts.iam.gserviceaccount.com",
}


def _dummy(name: str) -> str:
    """A value shaped like what the capture step returns in a real project."""
    if name.endswith("_TRIGGER"):
        return "projects/nba-props-platform/locations/us-west2/triggers/on-registry-change-123456"
    if name.endswith("_SUBSCRIPTION"):
        return "projects/nba-props-platform/subscriptions/eventarc-us-west2-on-registry-change-123456-sub-789"
    return DUMMIES[name]


def readme_commands() -> list[Argv]:
    """The runnable gcloud commands the deploy, cutover and operations pages show (docs/)."""
    pages = ("deploy.md", "cutover.md", "operations.md")
    section = "\n".join((REPO_ROOT / "docs" / page).read_text() for page in pages)
    found = re.findall(r"`(gcloud [^`]+)`", section) + re.findall(r"^(gcloud .+)$", section, re.MULTILINE)
    runnable = [c for c in found if ("--project=" in c or "gs://" in c) and "…" not in c]
    return [tuple(shlex.split(c.replace("$(date +%s)", "1700000000"))) for c in runnable]


@pytest.mark.slow
@pytest.mark.skipif(bool(gcloud_offline.unavailable()), reason=gcloud_offline.unavailable() or "n/a")
def test_installed_gcloud_accepts_every_generated_command(tmp_path: Path) -> None:
    with_secret = plan(DeployConfig(project="nba-props-platform", region="us-west2", set_slack_webhook=True))
    generated = {a: None for s in STEPS + with_secret for a in s.commands() if a[0] == "gcloud"}
    commands = [tuple(re.sub(r"\$\{(\w+)\}", lambda m: _dummy(m.group(1)), a) for a in argv) for argv in generated]
    documented = readme_commands()
    assert len(documented) >= 10  # the runbook's commands are checked too
    commands += [c for c in dict.fromkeys(documented) if c not in generated]
    mistyped = ("gcloud", "pubsub", "topics", "create", "x", "--project=nba-props-platform", "--retention=7d")
    started = time.monotonic()
    outcomes, how = gcloud_offline.run_offline([*commands, mistyped], tmp_path)
    elapsed = time.monotonic() - started
    *checked, control = outcomes
    assert control.verdict == "parse", control.output  # the check can tell a typo from missing credentials
    bad = [
        f"{' '.join(o.argv)}\n  exit {o.returncode}: {o.output.strip()[:400]}"
        for o in checked
        if o.verdict != "credentials"
    ]
    assert not bad, "gcloud rejected generated commands:\n" + "\n".join(bad)
    # the warm batch must judge exactly as the gcloud script does
    for outcome in (checked[0], control):
        assert gcloud_offline.one(outcome.argv, tmp_path).verdict == outcome.verdict
    slowest = max(o.seconds for o in checked)
    print(f"\n{len(checked)} gcloud commands checked ({how}) in {elapsed:.1f} s, slowest {slowest:.1f} s")
