"""Issue 11.5: the Slack webhook is a secret; no failure path ever shows it.

Every failure of a delivery (a malformed URL, Slack answering 4xx or 5xx, a Slack that
hangs, a refused connection) is run through the real CLI (``modelctl -v remind``, a
process) and the real function (``retrain_reminder`` under functions-framework, a
process), and everything they printed or logged is scanned for the secret.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.local.processes import free_port
from tests.support.events import pubsub_event
from tests.support.fnproc import FunctionProcess
from tests.support.migrated import migrated_store
from tests.support.slack import HANG, SlackStub

SECRET = "s3cr3tT0ken"  # the secret part of tests/support/slack.py's webhook path
MODELCTL = Path(sys.executable).with_name("modelctl")


@dataclass(frozen=True)
class Case:
    name: str
    answers: tuple[int, ...]  # what the stand-in answers, in order (none: the URL does not reach it)
    exit_code: int  # the CLI's (5 configuration, 6 transient)
    says: str  # the part of the one-line error that proves this path ran


CASES = [
    Case("malformed", (), 5, "SLACK_WEBHOOK_URL is not a valid webhook URL"),
    Case("refused", (), 6, "unreachable"),
    Case("4xx", (404,), 5, "Slack refused the post to SLACK_WEBHOOK_URL (HTTP 404"),
    Case("5xx", (500, 500), 6, "failed after 1 retries: HTTP 500"),
    Case("timeout", (HANG,), 6, "unreachable"),
]


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStub]:
    stub = SlackStub()
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"duckdb://{tmp_path_factory.mktemp('secrets') / 'registry.duckdb'}"
    migrated_store(url)
    return url


def webhook(case: Case, slack: SlackStub) -> str:
    path = slack.url.split("/", 3)[3]
    if case.name == "malformed":
        return f"hooks.slack.com/{path}"  # no scheme: the reported leak
    if case.name == "refused":
        return f"http://127.0.0.1:{free_port()}/{path}"
    return slack.url


def env_for(case: Case, slack: SlackStub, registry_url: str, tmp: Path) -> dict[str, str]:
    return {
        "MODEL_REGISTRY_URL": registry_url,
        "MODEL_BUCKET_URL": f"file://{tmp / 'bucket'}",
        "SLACK_WEBHOOK_URL": webhook(case, slack),
        "SLACK_RETRIES": "1",
        "SLACK_BACKOFF_SECONDS": "0.05",
        "SLACK_TIMEOUT_SECONDS": "1",
        "MODELCTL_ACTOR": "pytest",
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_cli_never_shows_the_webhook(case: Case, slack: SlackStub, registry_url: str, tmp_path: Path) -> None:
    slack.respond([(status, {}) for status in case.answers])  # a 4xx or a hang is not retried
    env = {**os.environ, **env_for(case, slack, registry_url, tmp_path)}
    day = f"2026-04-0{CASES.index(case) + 1}"
    out = subprocess.run(
        [str(MODELCTL), "-v", "remind", "--send", "--date", day], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == case.exit_code, out.stderr
    assert case.says in out.stderr
    assert "Traceback" not in out.stderr
    assert SECRET not in out.stdout + out.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_function_never_logs_the_webhook(case: Case, slack: SlackStub, registry_url: str, tmp_path: Path) -> None:
    slack.respond([(status, {}) for status in case.answers])
    fn = FunctionProcess.start("retrain_reminder", env_for(case, slack, registry_url, tmp_path), tmp_path)
    try:
        day = f"2026-05-0{CASES.index(case) + 1}"
        status = fn.deliver(pubsub_event("pubsub_scheduler_reminder.json", {"date": day}))
    finally:
        fn.stop()
    output = fn.output()
    assert status == 500  # configuration and transient errors are redelivered, not acknowledged
    assert case.says in output
    assert SECRET not in output
