"""The Cloud Functions through functions-framework's own app, with Eventarc-shaped events."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app

from common.app import open_registry
from common.manifest import MANIFEST_OBJECT, Manifest
from common.registry.store import RegistryStore
from common.settings import Settings
from common.storage import FileBucket
from tests.conftest import ModelFiles
from tests.support.events import post, pubsub_event, storage_event
from tests.support.slack import SlackStub
from tests.support.tiny import tiny_card, tiny_model_bytes

ROOT = Path(__file__).resolve().parent.parent


def client(name: str) -> Any:
    return create_app(name, str(ROOT / "functions" / name / "main.py"), "cloudevent").test_client()


@pytest.fixture
def migrated(isolated_env: Path) -> Settings:
    settings = Settings.from_env()
    store = RegistryStore.open(settings.registry_url)
    from common.registry.service import RegistryService

    store.migrate(RegistryService(store).clock())
    return settings


@pytest.fixture
def bucket(migrated: Settings) -> FileBucket:
    return FileBucket(migrated.bucket_url)


def manifest(bucket: FileBucket) -> Manifest:
    return Manifest.from_json(bucket.read(MANIFEST_OBJECT)[0])


# -- register_model ------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_finalize_registers_a_disabled_model_and_rebuilds_the_manifest(
    mode: str, migrated: Settings, bucket: FileBucket, model_files: ModelFiles
) -> None:
    info = bucket.write("models/v9/v9_q43/m.cbm", model_files.v9_q43)
    response = post(client("register_model"), storage_event(bucket.name, info.name, info.generation, info.size), mode)
    assert response.status_code == 200, response.data
    models = open_registry(migrated).list()
    assert [(m.model_id, m.enabled, m.status) for m in models] == [("catboost_v9_q43_train1102_0215", False, "shadow")]
    assert models[0].source_generation == info.generation
    assert manifest(bucket).models == ()  # registered disabled: nothing serves yet


def test_non_cbm_objects_are_ignored(migrated: Settings, bucket: FileBucket) -> None:
    info = bucket.write("notes/readme.txt", b"hello")
    response = post(client("register_model"), storage_event(bucket.name, info.name, info.generation, info.size))
    assert response.status_code == 200
    assert open_registry(migrated).list() == []


def test_fifty_concurrent_duplicate_deliveries_make_one_row(
    migrated: Settings, bucket: FileBucket, model_files: ModelFiles
) -> None:
    info = bucket.write("models/v9/v9_mae/m.cbm", model_files.v9_mae)
    event = storage_event(bucket.name, info.name, info.generation, info.size)
    app = client("register_model")
    barrier = threading.Barrier(50)

    def deliver(_: int) -> int:
        barrier.wait()
        return post(app, event).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(deliver, range(50)))
    assert codes == [200] * 50
    registry = open_registry(migrated)
    assert len(registry.list()) == 1
    assert [e.action for e in registry.events()] == ["registered"]


def _hold_registry_lock(path: str, ready: Any, release: Any) -> None:
    import duckdb

    con = duckdb.connect(path)
    ready.set()
    release.wait(30)
    con.close()


def test_unreachable_registry_answers_500_for_redelivery(
    migrated: Settings, bucket: FileBucket, model_files: ModelFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    import common.sql_duckdb

    monkeypatch.setattr(common.sql_duckdb, "LOCK_WAIT_SECONDS", 0.3)
    info = bucket.write("models/m.cbm", model_files.v9_mae)
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_registry_lock, args=(migrated.registry_url.split("://", 1)[1], ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        response = post(client("register_model"), storage_event(bucket.name, info.name, info.generation, info.size))
        assert response.status_code == 500
    finally:
        release.set()
        holder.join(30)
    response = post(client("register_model"), storage_event(bucket.name, info.name, info.generation, info.size))
    assert response.status_code == 200
    assert len(open_registry(migrated).list()) == 1


# -- bad inputs: acknowledged (2xx), logged, nothing written --------------------------------
def _storage_raw(bucket_name: str, data_changes: dict[str, Any]) -> Any:
    event = storage_event(bucket_name, "models/x.cbm", "1", 10)
    data = dict(event.get_data())
    for key, value in data_changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    event.data = data
    return event


BAD_STORAGE = [
    ("missing bucket", {"bucket": None}, "has no 'bucket'"),
    ("missing name", {"name": None}, "has no 'name'"),
    ("parent traversal", {"name": "models/../../etc/passwd.cbm"}, "contains '..'"),
    ("absolute path", {"name": "/etc/passwd.cbm"}, "is absolute"),
]


@pytest.mark.parametrize(("label", "changes", "log_text"), BAD_STORAGE, ids=[c[0] for c in BAD_STORAGE])
def test_bad_storage_events_are_acknowledged(
    migrated: Settings, bucket: FileBucket, caplog: pytest.LogCaptureFixture, label: str, changes: dict, log_text: str
) -> None:
    response = post(client("register_model"), _storage_raw(bucket.name, changes))
    assert response.status_code == 200
    assert log_text in caplog.text
    assert open_registry(migrated).list() == []


def test_wrong_event_type_is_acknowledged(migrated: Settings, caplog: pytest.LogCaptureFixture) -> None:
    response = post(client("register_model"), pubsub_event("pubsub_registry_change.json"))
    assert response.status_code == 200
    assert "unexpected event type 'google.cloud.pubsub.topic.v1.messagePublished'" in caplog.text


def test_non_cloudevent_request_is_refused_without_retry(migrated: Settings) -> None:
    response = client("register_model").post("/", data="hello", headers={"Content-Type": "text/plain"})
    assert 400 <= response.status_code < 500
    assert open_registry(migrated).list() == []


def test_zero_byte_and_oversize_models_become_rejections(
    migrated: Settings, bucket: FileBucket, model_files: ModelFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_MODEL_BYTES", "1000")
    app = client("register_model")
    empty = bucket.write("models/empty.cbm", b"")
    big = bucket.write("models/big.cbm", model_files.v9_mae)
    for info in (empty, big):
        assert post(app, storage_event(bucket.name, info.name, info.generation, info.size)).status_code == 200
    registry = open_registry(migrated)
    reasons = sorted(r.reason for r in registry.rejections())
    assert len(reasons) == 2 and registry.list() == []
    assert "empty (0 bytes)" in reasons[1] or "empty (0 bytes)" in reasons[0]
    assert any("over the 1,000-byte limit (MAX_MODEL_BYTES)" in r for r in reasons)
    # redelivery of the same bad object records nothing new
    post(app, storage_event(bucket.name, empty.name, empty.generation, empty.size))
    assert len(registry.rejections()) == 2


def test_events_from_the_future_are_malformed(
    migrated: Settings, bucket: FileBucket, model_files: ModelFiles, caplog
) -> None:
    info = bucket.write("models/m.cbm", model_files.v9_mae)
    ahead = (datetime.now(UTC) + timedelta(minutes=6)).isoformat().replace("+00:00", "Z")
    event = storage_event(bucket.name, info.name, info.generation, info.size, time=ahead)
    assert post(client("register_model"), event).status_code == 200
    assert "minutes in the future" in caplog.text and "dropping malformed event" in caplog.text
    assert open_registry(migrated).list() == []
    within = (datetime.now(UTC) + timedelta(minutes=4)).isoformat().replace("+00:00", "Z")  # clock skew is tolerated
    assert post(
        client("register_model"), storage_event(bucket.name, info.name, info.generation, info.size, time=within)
    )
    assert len(open_registry(migrated).list()) == 1


def test_stale_events_are_dropped(migrated: Settings, bucket: FileBucket, model_files: ModelFiles, caplog) -> None:
    info = bucket.write("models/m.cbm", model_files.v9_mae)
    event = storage_event(bucket.name, info.name, info.generation, info.size, time="2020-01-01T00:00:00Z")
    assert post(client("register_model"), event).status_code == 200
    assert "over MAX_EVENT_AGE_SECONDS" in caplog.text
    assert open_registry(migrated).list() == []


@pytest.mark.parametrize(
    ("raw_data", "log_text"),
    [("%%% not base64 %%%", "not valid base64"), ("bm90IGpzb24=", "data is not JSON")],
    ids=["bad base64", "non-JSON data"],
)
def test_bad_pubsub_messages_are_acknowledged(migrated: Settings, caplog, raw_data: str, log_text: str) -> None:
    for name in ("on_registry_change", "retrain_reminder"):
        fixture = "pubsub_registry_change.json" if name == "on_registry_change" else "pubsub_scheduler_reminder.json"
        response = post(client(name), pubsub_event(fixture, raw_data=raw_data))
        assert response.status_code == 200
    assert log_text in caplog.text


@pytest.mark.parametrize(
    ("name", "payload", "log_text"),
    [
        ("on_registry_change", {"action": "enabled", "model_ids": "m1"}, "model_ids must be a list of model ids"),
        ("on_registry_change", {"action": "batch", "changes": []}, "a batch carries a list of 1-10000 changes"),
        ("retrain_reminder", {"job": "retrain-reminder", "date": "01/03/2026"}, "is not YYYY-MM-DD (e.g. 2026-03-01)"),
        ("retrain_reminder", {"job": "graded-games-nightly"}, "is for job 'graded-games-nightly'"),
    ],
)
def test_malformed_messages_are_acknowledged_with_the_reason(
    migrated: Settings, bucket: FileBucket, caplog, name: str, payload: dict, log_text: str
) -> None:
    fixture = "pubsub_registry_change.json" if name == "on_registry_change" else "pubsub_scheduler_reminder.json"
    assert post(client(name), pubsub_event(fixture, payload)).status_code == 200
    assert "permanent failure, acknowledged" in caplog.text and log_text in caplog.text
    assert not (bucket.root / MANIFEST_OBJECT).exists()  # nothing done


# -- on_registry_change ----------------------------------------------------------------------
def test_registry_change_rebuilds_the_manifest_idempotently(
    migrated: Settings, bucket: FileBucket, model_files: ModelFiles
) -> None:
    registry = open_registry(migrated)
    from common.app import registration_service

    service = registration_service(migrated, registry)
    a = service.register_object(bucket.write("a.cbm", model_files.v9_mae).name).record.model_id
    b = service.register_object(bucket.write("b.cbm", model_files.v12_mae).name).record.model_id
    registry.enable(a)
    registry.promote(a)
    registry.enable(b)  # each change already rebuilt the manifest in-process
    first = manifest(bucket)
    assert first.champion == a and [m.model_id for m in first.models] == [a, b]
    assert [m.role for m in first.models] == ["champion", "shadow"]
    assert first.models[0].sha256 == registry.get(a).sha256
    app = client("on_registry_change")
    assert post(app, pubsub_event("pubsub_registry_change.json", {"action": "enabled"})).status_code == 200
    assert manifest(bucket).generation == first.generation  # nothing changed: nothing rewritten
    registry.disable(b)
    second = manifest(bucket)
    assert second.generation == first.generation + 1 and [m.model_id for m in second.models] == [a]


# -- retrain_reminder ------------------------------------------------------------------------
@pytest.fixture
def stale_families(migrated: Settings, bucket: FileBucket) -> Settings:
    from common.app import registration_service

    registry = open_registry(migrated)
    service = registration_service(migrated, registry)
    specs = [
        ("v9", "MAE", None, date(2026, 2, 15)),
        ("v9", "Quantile", 0.43, date(2026, 2, 10)),
        ("v12_noveg", "MAE", None, date(2026, 2, 27)),
    ]
    for seed, (fs, loss, alpha, end) in enumerate(specs):
        data = tiny_model_bytes(tiny_card(fs, loss, alpha, date(2025, 11, 2), end), seed=seed)
        registry.enable(service.register_object(bucket.write(f"m{seed}.cbm", data).name).record.model_id)
    return migrated


def test_reminder_lists_stale_families_once_per_day(stale_families: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    slack = SlackStub(failures=1)  # the first attempt fails and is retried with backoff
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
    try:
        app = client("retrain_reminder")
        event = pubsub_event("pubsub_scheduler_reminder.json", {"date": "2026-03-01"})
        assert post(app, event).status_code == 200
        assert post(app, pubsub_event("pubsub_scheduler_reminder.json", {"date": "2026-03-01"})).status_code == 200
    finally:
        slack.close()
    assert len(slack.posts) == 1
    text = slack.posts[0]["text"]
    assert "v9_q43: 19 days (overdue) → modelctl retrain --family v9_q43" in text
    assert "v9_mae: 14 days (overdue) → modelctl retrain --family v9_mae" in text
    assert "v12_noveg_mae" not in text  # 2 days: fresh
    assert slack.posts[0]["blocks"][0]["type"] == "header"


def test_reminder_raises_when_slack_keeps_failing_and_posts_on_redelivery(
    stale_families: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack = SlackStub(failures=3)  # every attempt of the first delivery fails
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
    monkeypatch.setenv("SLACK_RETRIES", "2")
    monkeypatch.setenv("SLACK_BACKOFF_SECONDS", "0.01")
    try:
        app = client("retrain_reminder")
        assert post(app, pubsub_event("pubsub_scheduler_reminder.json", {"date": "2026-03-02"})).status_code == 500
        assert len(slack.requests) == 3 and slack.posts == []
        assert post(app, pubsub_event("pubsub_scheduler_reminder.json", {"date": "2026-03-02"})).status_code == 200
    finally:
        slack.close()
    assert len(slack.posts) == 1


def test_reminder_all_clear_and_silent_mode(migrated: Settings, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    import logging

    caplog.set_level(logging.INFO)
    app = client("retrain_reminder")
    assert post(app, pubsub_event("pubsub_scheduler_reminder.json", {"date": "2026-03-03"})).status_code == 200
    assert "all 0 active families are fresh" in caplog.text
    monkeypatch.setenv("REMINDER_SILENT_WHEN_CLEAR", "true")
    assert post(app, pubsub_event("pubsub_scheduler_reminder.json", {"date": "2026-03-04"})).status_code == 200
    assert "silent" in caplog.text


# -- one event's log lines all carry its id ----------------------------------------------------
@pytest.fixture
def json_log() -> Any:
    """The JSON lines the functions write (``common/log.py``'s handler), into a buffer."""
    import io
    import logging

    from common.log import setup_logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    setup_logging("INFO", stream=buffer)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)


def test_every_log_line_of_one_event_carries_its_id(
    migrated: Settings, bucket: FileBucket, model_files: ModelFiles, json_log: Any
) -> None:
    """A finalize event through register_model: the registration, then (in-process) the registry-change
    delivery it causes: every line names the event; the caused delivery's lines name it as their cause."""
    import json

    info = bucket.write("models/v9/v9_mae/m.cbm", model_files.v9_mae)
    event = storage_event(bucket.name, info.name, info.generation, info.size)
    assert post(client("register_model"), event).status_code == 200
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    event_id = event["id"]
    ours = [r for r in lines if r.get("event_id") == event_id]
    caused = [r for r in lines if r.get("caused_by") == event_id]
    assert len(ours) >= 2 and caused, lines  # its own lines, and those of the delivery it caused
    assert len(ours) + len(caused) == len(lines), [r for r in lines if r not in ours + caused]
    assert {r["logger"] for r in ours} >= {"common.runner", "common.eventbus", "common.registry.registration"}
    assert "common.manifest" in {r["logger"] for r in caused}  # modules that never pass an event id
    [model] = open_registry(migrated).list()
    assert ours[-1]["message"] == f"event {event_id}: registered:{model.model_id}"
    assert ours[-1]["model_id"] == model.model_id  # bound by the service once it knew it
    assert {r["event_id"] for r in caused} != {event_id} and all(r["model_id"] == model.model_id for r in caused)
