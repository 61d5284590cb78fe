"""Issue 19.4/19.5: configuration that used to mislead, through the real ``modelctl`` process.

* a ``bigquery://`` registry without credentials: ``list`` and ``rejections`` name the missing
  credentials (they said "schema version 0 … run `modelctl migrate`");
* ``SLACK_WEBHOOK_URL`` with a port out of range or not a number: a ``ConfigError`` (exit 5) when
  the settings are read, never shown (it was accepted, then "unreachable", exit 6, and retried);
* ``MODELCTL_ACTOR`` is bounded as reasons are (``limits.MAX_ACTOR_CHARS``): a 100 KB actor is
  refused before anything is written (it was stored whole in every audit event).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.registry.limits import MAX_ACTOR_CHARS
from tests.support.migrated import migrated_store

MODELCTL = Path(sys.executable).with_name("modelctl")
ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr3tT0ken"


def modelctl(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([str(MODELCTL), *args], capture_output=True, text=True, env=environ, timeout=120)


@pytest.mark.parametrize("command", ["list", "rejections"])
def test_bigquery_without_credentials_names_them_not_the_schema(command: str, tmp_path: Path) -> None:
    out = modelctl(
        command,
        MODEL_REGISTRY_URL="bigquery://no-credentials-project/nba_predictions",
        GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "no-such-credentials.json"),  # fails before any network
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),
    )
    assert out.returncode == 5, out.stderr
    assert "credentials" in out.stderr and "schema version" not in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


@pytest.mark.parametrize("port", ["99999", "abc", "-1"])
def test_a_webhook_with_a_bad_port_is_a_configuration_error(port: str) -> None:
    webhook = f"https://hooks.slack.com:{port}/services/T000/B000/{SECRET}"
    out = modelctl("remind", SLACK_WEBHOOK_URL=webhook)  # refused when the settings are read: nothing is sent
    assert out.returncode == 5, out.stderr
    assert "SLACK_WEBHOOK_URL is not a valid webhook URL" in out.stderr, out.stderr
    assert SECRET not in out.stdout + out.stderr


@pytest.mark.parametrize(
    "webhook",
    [
        f"https://hooks.slack.com:0/services/T000/B000/{SECRET}",  # port 0: "unreachable", exit 6, retried
        f"https://user:pw@hooks.slack.com/services/T000/B000/{SECRET}",  # urllib resolves "user:pw@hooks…"
        f"http://bot@127.0.0.1:9/services/T000/B000/{SECRET}",
    ],
    ids=["port 0", "userinfo", "userinfo on the loopback"],
)
def test_a_webhook_that_can_never_be_reached_is_a_configuration_error(webhook: str) -> None:
    out = modelctl("remind", SLACK_WEBHOOK_URL=webhook)
    assert out.returncode == 5, out.stderr
    assert "SLACK_WEBHOOK_URL is not a valid webhook URL" in out.stderr, out.stderr
    assert SECRET not in out.stdout + out.stderr


def test_an_oversized_actor_is_refused_before_anything_is_written() -> None:
    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()  # a copy of the migrated template
    out = modelctl("list", MODELCTL_ACTOR="a" * 100_000)
    assert out.returncode == 5 and f"MODELCTL_ACTOR is 100,000 characters long; at most {MAX_ACTOR_CHARS}" in out.stderr
    assert len(out.stderr) < 500, "the error quotes the bound, not the actor"
    fine = modelctl("list", "--json", MODELCTL_ACTOR="a" * MAX_ACTOR_CHARS)
    assert fine.returncode == 0 and json.loads(fine.stdout) == []


@pytest.mark.parametrize(
    ("actor", "message"),
    [
        ("bob\nroot", "MODELCTL_ACTOR contains a control character (U+000A)"),  # read as two actors
        ("ev\x1b[31mil", "MODELCTL_ACTOR contains a control character (U+001B)"),
        ("alice\u202e", "MODELCTL_ACTOR contains a control character (U+202E)"),
        ("   ", "MODELCTL_ACTOR is blank"),  # an audit event by no one
    ],
    ids=["newline", "escape", "bidi override", "blank"],
)
def test_an_actor_that_would_misattribute_the_audit_trail_is_refused(actor: str, message: str) -> None:
    """Such actors were stored raw in every audit event: a newline made one event read as two
    people's in `history`, and a blank actor recorded a change by nobody."""
    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()  # a copy of the migrated template
    out = modelctl("list", "--json", MODELCTL_ACTOR=actor)
    assert out.returncode == 5 and message in out.stderr, out.stderr
    assert modelctl("list", "--json", MODELCTL_ACTOR="ci-bot@example.org").returncode == 0


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_history_at_the_ends_of_the_calendar_answers(day: str) -> None:
    """`history --at 9999-12-31` was exit 1 "unexpected error: OverflowError" (the day after)."""
    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()  # a copy of the migrated template
    out = modelctl("history", "--at", day)
    assert out.returncode == 0 and f"Champion at end of {day}: none" in out.stdout, out.stderr
