"""The local emulator stack wires real clients to CloudEvent functions as GCP does.

One stack per module (Pub/Sub emulator, fake-gcs-server, the Eventarc bridge
and two dummy functions from tests/support/stack_functions/):

* a google-cloud-storage upload ends as a ``google.cloud.storage.object.v1.finalized``
  CloudEvent shaped like Eventarc's;
* a google-cloud-pubsub publish ends as a ``google.cloud.pubsub.topic.v1.messagePublished``
  CloudEvent;
* a function answering 500 gets the message again.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.api_core.exceptions import PreconditionFailed
from werkzeug.test import Client

from common import inventory
from common.events import STORAGE_FINALIZED
from infra.local.eventarc_bridge import EventarcBridge, storage_cloudevent
from infra.local.processes import ROOT, ProcessInfo, alive, free_port
from infra.local.stack import LocalFunction, PushSpec, Stack, missing_prerequisites
from tests.support.stack_events import FUNCTIONS_DIR, publish, read_events, storage_client, wait_for_events

MISSING = missing_prerequisites()
pytestmark = [
    pytest.mark.emulator,
    pytest.mark.skipif(bool(MISSING), reason=f"local emulator stack unavailable: {'; '.join(MISSING)}"),
]

BUCKET = "stack-test-bucket"
EVENTS_TOPIC = "stack-test-events"
FLAKY_TOPIC = "stack-test-flaky"
PUBLISHED_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"


@dataclass(frozen=True)
class Running:
    stack: Stack
    records: Path


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    workdir = tmp_path_factory.mktemp("stack")
    records = workdir / "events.jsonl"
    stack = Stack.start(
        functions=[LocalFunction("record_event", FUNCTIONS_DIR), LocalFunction("flaky_event", FUNCTIONS_DIR)],
        subscriptions=[
            PushSpec("record_event", trigger="storage"),
            PushSpec("record_event", topic=EVENTS_TOPIC),
            PushSpec("flaky_event", topic=FLAKY_TOPIC),
        ],
        bucket=BUCKET,
        workdir=workdir,
        env={"RECORD_EVENTS_PATH": str(records), "FLAKY_FAIL_TIMES": "2"},
    )
    try:
        yield Running(stack, records)
    finally:
        stack.stop()


def test_upload_arrives_as_eventarc_storage_finalized_event(running: Running) -> None:
    bucket = storage_client(running.stack.env).bucket(BUCKET)
    name = "models/v9 model.cbm"
    blob = bucket.blob(name)
    blob.metadata = {"family": "v9"}
    blob.upload_from_string(b"first", content_type="application/octet-stream", if_generation_match=0)
    with pytest.raises(PreconditionFailed):
        bucket.blob(name).upload_from_string(b"clobber", if_generation_match=0)
    second = bucket.blob(name)
    second.upload_from_string(b"second!", if_generation_match=blob.generation)

    events = wait_for_events(running.records, lambda r: r["subject"] == f"objects/{name}", count=2)
    by_generation = {e["data"]["generation"]: e for e in events}  # Pub/Sub does not keep order
    assert sorted(by_generation) == sorted([str(blob.generation), str(second.generation)])
    event = by_generation[str(blob.generation)]
    assert event["type"] == STORAGE_FINALIZED
    assert event["source"] == f"//storage.googleapis.com/projects/_/buckets/{BUCKET}"
    assert event["attributes"]["bucket"] == BUCKET
    assert event["time"] == event["data"]["updated"]
    data = event["data"]
    assert (data["bucket"], data["name"], data["size"]) == (BUCKET, name, "5")
    assert data["id"] == f"{BUCKET}/{name}/{blob.generation}"
    assert data["md5Hash"] == blob.md5_hash
    assert data["contentType"] == "application/octet-stream"
    assert data["metadata"] == {"family": "v9"}
    assert data["metageneration"] == "1"


def test_resumable_upload_arrives_too(running: Running) -> None:
    blob = storage_client(running.stack.env).bucket(BUCKET).blob("big/model.cbm", chunk_size=256 * 1024)
    payload = os.urandom(600 * 1024)
    blob.upload_from_file(io.BytesIO(payload), if_generation_match=0)  # size unknown: resumable, 3 chunks

    (event,) = wait_for_events(running.records, lambda r: r["subject"] == "objects/big/model.cbm")
    assert (event["data"]["size"], event["data"]["generation"]) == (str(len(payload)), str(blob.generation))


def test_publish_arrives_as_message_published_event(running: Running) -> None:
    payload = json.dumps({"model_id": "m-1"}).encode()
    message_id = publish(running.stack.env, EVENTS_TOPIC, payload, kind="registered")

    (event,) = wait_for_events(running.records, lambda r: r["id"] == message_id and r["function"] == "record_event")
    assert event["type"] == PUBLISHED_TYPE
    assert event["source"] == f"//pubsub.googleapis.com/projects/{running.stack.project}/topics/{EVENTS_TOPIC}"
    message = event["data"]["message"]
    assert message["data"] == base64.b64encode(payload).decode()
    assert message["attributes"] == {"kind": "registered"}
    assert message["messageId"] == message_id
    assert message["publishTime"]


def test_failing_function_gets_the_message_redelivered(running: Running) -> None:
    message_id = publish(running.stack.env, FLAKY_TOPIC, b"retry me")

    deliveries = wait_for_events(running.records, lambda r: r["id"] == message_id, count=3)
    assert [d["outcome"] for d in deliveries] == ["fail", "fail", "ok"]
    assert {d["data"]["message"]["data"] for d in deliveries} == {base64.b64encode(b"retry me").decode()}


def _notification(event_type: str, message_id: str = "42") -> dict[str, object]:
    resource = {"bucket": BUCKET, "name": "x.bin", "generation": "7", "size": 3, "updated": "2026-01-01T00:00:00Z"}
    attributes = {"eventType": event_type, "bucketId": BUCKET, "objectId": "x.bin", "payloadFormat": "JSON_API_V1"}
    data = base64.b64encode(json.dumps(resource).encode()).decode()
    return {"subscription": "s", "message": {"messageId": message_id, "attributes": attributes, "data": data}}


def test_bridge_translation_drops_other_notifications() -> None:
    assert storage_cloudevent(_notification("OBJECT_DELETE")) is None
    headers, body = storage_cloudevent(_notification("OBJECT_FINALIZE")) or ({}, b"")
    assert headers["ce-id"] == "42" and headers["ce-subject"] == "objects/x.bin"
    assert headers["ce-time"] == "2026-01-01T00:00:00Z"
    assert json.loads(body)["size"] == "3"
    client = Client(EventarcBridge({"fn": f"http://127.0.0.1:{free_port()}/"}))
    assert client.post("/storage/fn", json=_notification("OBJECT_DELETE")).status_code == 204
    assert client.post("/storage/fn", json=_notification("OBJECT_FINALIZE")).status_code == 503  # nobody listens
    assert client.post("/storage/nope", json=_notification("OBJECT_FINALIZE")).status_code == 404


def test_bridge_passes_on_a_5xx_so_pubsub_redelivers(running: Running) -> None:
    bridge = Client(EventarcBridge({"flaky": running.stack.function_url("flaky_event")}))
    statuses = [bridge.post("/storage/flaky", json=_notification("OBJECT_FINALIZE", "b-1")).status_code for _ in "abc"]
    assert statuses == [500, 500, 204]
    assert [r["outcome"] for r in read_events(running.records) if r["id"] == "b-1"] == ["fail", "fail", "ok"]


def test_cli_up_status_down(tmp_path: Path) -> None:
    config = tmp_path / "stack.toml"
    config.write_text('[stack]\nbucket = "cli-bucket"\n[env]\nMODELCTL_ACTOR = "cli-test"\n')
    workdir = tmp_path / "stack"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "infra.local.stack", *args, f"--config={config}", f"--workdir={workdir}"]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=90)

    up = cli("up")
    assert up.returncode == 0, up.stderr
    try:
        state = json.loads((workdir / "state.json").read_text())
        # what `make stack-up` runs: every function of the inventory, and the bridge for the storage trigger
        assert set(state["processes"]) == {"pubsub", "gcs", "bridge", *(fn.name for fn in inventory.FUNCTIONS)}
        assert cli("status").returncode == 0
        assert "export PUBSUB_EMULATOR_HOST=127.0.0.1:" in cli("env").stdout
        assert cli("up").returncode == 1  # refuses a second stack in the same workdir
    finally:
        down = cli("down")
    assert down.returncode == 0, down.stderr
    assert not (workdir / "state.json").exists()
    assert not any(alive(ProcessInfo(**info)) for info in state["processes"].values())


def test_config_runs_the_inventory_and_refuses_unknown_tables(tmp_path: Path) -> None:
    from common import inventory
    from infra.local.stack import DEFAULT_CONFIG, StackError, load_config

    shipped = load_config(DEFAULT_CONFIG)
    assert [spec.name for spec in shipped.functions] == [fn.name for fn in inventory.FUNCTIONS]
    signatures = {spec.name: spec.signature for spec in shipped.functions}
    assert signatures["predict"] == "http" and signatures["register_model"] == "cloudevent"
    assert "predict" not in {sub.function for sub in shipped.subscriptions}
    assert {sub.function: sub.topic for sub in shipped.subscriptions if sub.topic} == {
        fn.name: fn.topic for fn in inventory.FUNCTIONS if fn.trigger == "pubsub"
    }
    bad = tmp_path / "stack.toml"
    bad.write_text('[functions.predict]\nsource = "functions/predict"\n')
    with pytest.raises(StackError, match="unknown tables"):
        load_config(bad)
    bad.write_text('[function_env.nope]\nX = "1"\n')
    with pytest.raises(StackError, match="not in the inventory"):
        load_config(bad)
