"""`modelctl events sample KIND` prints a CloudEvent each function accepts as written: posted the way
the README's curl lines post it (structured JSON) to functions-framework's own app, it does the work."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from common.app import open_registry
from common.cli.main import main
from common.manifest import MANIFEST_OBJECT
from common.settings import Settings
from common.storage import FileBucket
from tests import test_functions
from tests.support.tiny import tiny_card, tiny_model_bytes
from tests.test_functions import client

STRUCTURED = {"Content-Type": "application/cloudevents+json"}


settings = test_functions.migrated  # the isolated environment's settings, registry migrated


def sample(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["events", "sample", *args]) == 0
    return capsys.readouterr().out


def deliver(function: str, body: str, caplog: pytest.LogCaptureFixture) -> str:
    """Post ``body``; return the outcome the function logged (a malformed or stale event would be
    acknowledged with 200 too, so the status alone proves nothing)."""
    caplog.clear()
    caplog.set_level("INFO")  # the CLI's main() left the root logger at ERROR
    response = client(function).post("/", headers=STRUCTURED, data=body)
    assert response.status_code == 200, response.data
    event_id = json.loads(body)["id"]
    (outcome,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"event {event_id}: ")]
    return outcome.removeprefix(f"event {event_id}: ")


def test_finalize_sample_names_the_real_object_and_registers_it(
    settings: Settings, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    bucket = FileBucket(settings.bucket_url)
    info = bucket.write("models/v9/m.cbm", tiny_model_bytes(tiny_card("v9"), seed=5))
    body = sample(capsys, "finalize", "--object", info.name)
    event = json.loads(body)
    assert event["type"] == "google.cloud.storage.object.v1.finalized"
    assert (event["data"]["bucket"], event["data"]["name"]) == (bucket.name, info.name)
    assert event["data"]["generation"] == info.generation == str(bucket.path(info.name).stat().st_mtime_ns)
    stamp = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60  # fresh: never dropped as stale
    assert json.loads(sample(capsys, "finalize"))["data"]["name"] == info.name  # default: the newest .cbm
    assert deliver("register_model", body, caplog).startswith("registered:")
    assert [m.source_generation for m in open_registry(settings).list()] == [info.generation]


def test_pubsub_samples_are_accepted_by_their_functions(
    settings: Settings, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert deliver("on_registry_change", sample(capsys, "registry-change"), caplog).startswith("manifest written")
    assert (FileBucket(settings.bucket_url).root / MANIFEST_OBJECT).exists()
    assert deliver("retrain_reminder", sample(capsys, "reminder"), caplog).endswith("stale of 0")
    body = json.loads(sample(capsys, "graded-games", "--date", "2026-02-20"))
    assert body["source"].endswith("/topics/graded-games")
    outcome = deliver("update_performance", json.dumps(body), caplog)
    assert outcome.startswith("graded 0 predictions") and "no predictions on 2026-02-20" in outcome


def test_sample_errors_are_one_line(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "sample", "finalize"]) == 2
    assert "no .cbm in" in capsys.readouterr().err
    assert main(["events", "sample", "finalize", "--object", "models/none.cbm"]) == 3
    assert main(["events", "sample", "reminder", "--object", "x"]) == 2
