"""A committed registry change always reaches the workers (issue 19, section 1).

The models bucket is made read-only for real: a read-only bind mount in a private mount
namespace (``tests/support/readonly.py``: ``unshare -m`` + ``mount --bind -o ro``), around
the one process that writes the manifest: ``modelctl`` on the in-process bus, the
``on_registry_change`` function on the Pub/Sub path, a ``predict`` worker whose own check
asks for the rebuild. The registry change commits; the manifest stays behind; every front
door says so; and it converges without another registry change: the rerun, the nightly job,
the worker's check, a Pub/Sub redelivery.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app

from common.app import open_registry, registration_service
from common.errors import ServingBehind
from common.manifest import MANIFEST_OBJECT, Manifest
from common.settings import Settings
from infra.local.processes import ROOT, http
from tests.support.fnproc import FunctionProcess
from tests.support.migrated import migrated_store
from tests.support.readonly import available, readonly, run_readonly, writable_again
from tests.support.tiny import tiny_card, tiny_model_bytes
from tests.test_cli import MODELCTL, run
from tests.test_stack_e2e import wait_for

READ_ONLY, WHY_NOT = available()
pytestmark = pytest.mark.skipif(not READ_ONLY, reason=WHY_NOT)


@pytest.fixture
def models(isolated_env: Path) -> dict[str, str]:
    """champion (v9), shadow (v12_noveg) and other (v12), all enabled; the manifest written."""
    settings = Settings.from_env()
    migrated_store(settings.registry_url)
    service = registration_service(settings)
    ids = {}
    for seed, (key, fs) in enumerate((("champion", "v9"), ("shadow", "v12_noveg"), ("other", "v12")), 1):
        info = service.bucket.write(f"models/{key}.cbm", tiny_model_bytes(tiny_card(fs), seed=seed))
        ids[key] = service.register_object(info.name).record.model_id
        service.registry.enable(ids[key])
    open_registry(settings).promote(ids["champion"])
    return ids


def bucket_dir() -> Path:
    return Path(Settings.from_env().bucket_url.removeprefix("file://"))


def manifest() -> Manifest:
    return Manifest.from_json((bucket_dir() / MANIFEST_OBJECT).read_bytes())


def served(m: Manifest) -> tuple[str | None, set[str]]:
    return m.champion, {e.model_id for e in m.models}


def change(action: str, ids: dict[str, str]) -> list[str]:
    """The issue's two reproductions: a forced promote of the shadow, a disable of the other."""
    if action == "promote":
        return ["promote", ids["shadow"], "--force", "--reason", "x"]
    return ["disable", ids["other"], "--reason", "x"]


def diverge(action: str, ids: dict[str, str]) -> Manifest:
    """Run the change with the bucket read-only; return the manifest it left behind."""
    before = manifest()
    out = run_readonly(bucket_dir(), [str(MODELCTL), *change(action, ids)])
    assert out.returncode == ServingBehind.exit_code == 8, out.stdout + out.stderr
    line = out.stderr.strip()
    verb = {"promote": "promoted", "disable": "disabled"}[action]
    target = ids["shadow"] if action == "promote" else ids["other"]
    assert line.startswith(f"modelctl {action}: error: {verb} {target} committed; serving manifest not yet rebuilt (")
    assert "Read-only file system" in line and "unexpected error" not in line and line.count("\n") == 0
    assert manifest() == before  # nothing written
    return before


def test_in_process_read_only_bucket_commits_reports_and_the_rerun_converges(models: dict[str, str]) -> None:
    settings = Settings.from_env()
    old = diverge("promote", models)
    diverge("disable", models)  # still the old manifest: behind by two changes
    registry = open_registry(settings)
    assert registry.champion().model_id == models["shadow"]  # both committed, audit included
    assert {m.model_id for m in registry.list() if m.serves} == {models["champion"], models["shadow"]}
    assert [(e.action, e.actor) for e in registry.events()[-3:]] == [
        ("demoted", "pytest"), ("promoted", "pytest"), ("disabled", "pytest")
    ]  # fmt: skip
    workers = run("workers")
    assert workers.returncode == 0, workers.stderr
    text = " ".join(workers.stdout.split())
    assert f"generation {old.generation}" in text and "is behind the registry" in text
    assert f"champion {models['shadow']} in the registry, {models['champion']} served" in text
    assert f"still served: {models['other']}" in text

    rerun = run(*change("disable", models))  # the bucket is writable again: the rerun converges
    assert rerun.returncode == 0, rerun.stderr
    assert "is behind the registry" in rerun.stderr and "serving manifest rebuilt" in rerun.stderr
    now = manifest()
    assert served(now) == (models["shadow"], {models["champion"], models["shadow"]})
    assert now.generation == old.generation + 1 and now.registry_version == registry.version().events
    assert "in step with the registry" in run("workers").stdout
    again = run(*change("promote", models))
    assert again.returncode == 0 and "note:" not in again.stderr and manifest() == now  # nothing more to do


def test_the_dashboard_and_the_nightly_job(models: dict[str, str]) -> None:
    old = diverge("promote", models)
    dashboard = create_app("dashboard", str(ROOT / "functions" / "dashboard" / "main.py"), "http").test_client()
    page = " ".join(dashboard.get("/operations").get_data(as_text=True).split())
    assert "Serving is behind the registry" in page and f"champion {models['shadow']} in the registry" in page

    nightly = run("remind", "--send", "--date", "2026-02-20")  # the scheduler's message, delivered in-process
    assert nightly.returncode == 0, nightly.stderr
    assert "serving: resync sent" in nightly.stdout
    assert served(manifest()) == (models["shadow"], set(models.values()))
    assert manifest().generation == old.generation + 1
    page = " ".join(dashboard.get("/operations").get_data(as_text=True).split())
    assert "Serving is behind" not in page and "in step with the registry" in page


@pytest.fixture
def worker_env(isolated_env: Path) -> dict[str, str]:
    return {
        "MODEL_CACHE_DIR": str(isolated_env / "worker-cache"),
        "MANIFEST_POLL_SECONDS": "0.1",
        "REGISTRY_CHECK_SECONDS": "0.5",
    }


def status(fn: FunctionProcess) -> dict[str, Any]:
    code, body = http("GET", f"{fn.url}status")
    assert code == 200, body
    return json.loads(body)  # type: ignore[no-any-return]


def test_a_worker_reports_the_lag_and_its_own_check_converges_it(
    models: dict[str, str], worker_env: dict[str, str], tmp_path: Path
) -> None:
    """The worker runs where the bucket is read-only too: its resync (in-process, so in the worker)
    fails and it says so; once the bucket is writable again its next check rebuilds the manifest."""
    old = diverge("promote", models)
    fn = FunctionProcess.start("predict", worker_env, tmp_path, wrap=readonly(bucket_dir()))
    try:
        behind = wait_for(lambda: (s := status(fn)) and s["behind_registry"] and s, what="the worker's lag report")
        assert behind["champion"] == models["champion"] and behind["generation"] == old.generation
        assert "serving is behind the registry" in behind["problem"]
        assert f"champion {models['shadow']} in the registry" in behind["registry_check"]["detail"]
        acks = json.loads(run("workers", "--json").stdout)
        assert [a["behind_registry"] for a in acks] == [True] and "behind the registry" in acks[0]["problem"]
        assert manifest() == old  # the worker cannot write either

        writable_again(fn.popen.pid, bucket_dir())  # no registry change: the worker's check converges it
        now = wait_for(lambda: (s := status(fn)) and s["champion"] == models["shadow"] and s, what="convergence")
        assert not now["behind_registry"] and now["problem"] is None
        assert served(manifest()) == (models["shadow"], set(models.values()))
    finally:
        fn.stop()


# -- the Pub/Sub path ------------------------------------------------------------------------------
@pytest.fixture
def pubsub(isolated_env: Path) -> Iterator[tuple[dict[str, str], FunctionProcess]]:
    """The Pub/Sub emulator; on_registry_change (functions-framework) with the bucket read-only,
    pushed registry-change messages; this test's environment publishing through it."""
    from infra.local.stack import Stack, missing_prerequisites

    if missing := missing_prerequisites():
        pytest.skip(f"local emulator stack unavailable: {'; '.join(missing)}")
    stack = Stack.start([], [], "unused", isolated_env / "stack", topics=["registry-change"])
    env = {**stack.env, "EVENT_BUS_URL": f"pubsub://{stack.project}"}
    fn = None
    try:
        fn = FunctionProcess.start("on_registry_change", env, isolated_env, wrap=readonly(bucket_dir()))
        topic = f"projects/{stack.project}/topics/registry-change"
        body = {"topic": topic, "pushConfig": {"pushEndpoint": f"{fn.url}{topic}"}, "ackDeadlineSeconds": 10}
        sub = f"http://{stack.env['PUBSUB_EMULATOR_HOST']}/v1/projects/{stack.project}/subscriptions/rc-ro"
        code, answer = http("PUT", sub, body)
        assert code == 200, answer
        yield env, fn
    finally:
        if fn is not None:
            fn.stop()
        stack.stop()


def test_pubsub_path_read_only_bucket_is_redelivered_until_the_bucket_comes_back(
    models: dict[str, str], pubsub: tuple[dict[str, str], FunctionProcess]
) -> None:
    env, fn = pubsub
    shell = {**os.environ, **env}
    old = manifest()
    for action in ("promote", "disable"):  # the command publishes and is done: the rebuild is the function's
        out = run(*change(action, models), env=shell)
        assert out.returncode == 0, out.stderr
    wait_for(lambda: fn.output().count("serving manifest not yet rebuilt") >= 2, what="the function's failures")
    assert "Read-only file system" in fn.output() and "will be redelivered" in fn.output()
    assert manifest() == old
    workers = " ".join(run("workers", env=shell).stdout.split())
    assert "is behind the registry" in workers and f"still served: {models['other']}" in workers

    writable_again(fn.popen.pid, bucket_dir())  # Pub/Sub redelivers; nothing else happens
    wait_for(lambda: served(manifest()) == (models["shadow"], {models["champion"], models["shadow"]}), 60.0,
             what="a redelivery to rebuild the manifest")  # fmt: skip
    assert manifest().registry_version == open_registry(Settings.from_env()).version().events
    assert "in step with the registry" in run("workers", env=shell).stdout


def test_the_read_only_mount_stays_in_its_namespace(isolated_env: Path) -> None:
    """The fault is real and private: EROFS inside, writable outside."""
    folder = isolated_env / "ro"
    folder.mkdir()
    inside = run_readonly(folder, ["sh", "-c", f"echo x > {folder}/f"])
    assert inside.returncode != 0 and "Read-only file system" in inside.stderr
    (folder / "g").write_text("outside")
    assert not (folder / "f").exists() and subprocess.run(["findmnt", str(folder)], capture_output=True).returncode


def test_a_rebuild_from_an_older_registry_state_never_overwrites_a_newer_manifest(models: dict[str, str]) -> None:
    """Two rebuilds racing (a redelivery, the nightly job, a worker's resync): the one that read the
    registry first loses, whatever order they write in."""
    from common.manifest import publish_manifest
    from common.registry.model import RegistryVersion
    from common.storage import open_bucket

    settings = Settings.from_env()
    registry = open_registry(settings)
    early_version, early_records = registry.version(), registry.list()
    registry.disable(models["other"], reason="the newer state")  # rebuilt in-process: the newer manifest
    newer = manifest()
    bucket = open_bucket(settings.bucket_url)
    assert publish_manifest(early_records, bucket, "late", early_version) == (newer, False)
    assert manifest() == newer and models["other"] not in served(newer)[1]
    assert early_version.events < newer.registry_version  # type: ignore[operator]
    stale = RegistryVersion(newer.registry_version, "another registry's event")  # type: ignore[arg-type]
    written, changed = publish_manifest(registry.list(), bucket, "resync", stale)  # same set, other version
    assert changed and written.generation == newer.generation and written.registry_event == stale.last_event_id


LEGACY = (
    "catboost_v9_33f_train20251102-20260215_20260216_123456.cbm",
    "catboost_v9_33f_train20251201-20260301_20260302_090000.cbm",
)


def test_import_legacy_with_a_read_only_bucket_applies_the_whole_plan_then_converges(isolated_env: Path) -> None:
    """Legacy files already in the models bucket (gs:// at cutover): only the manifest write fails.
    The import must not stop after its first change with the rest of the plan silently undone."""
    assert run("migrate").returncode == 0
    folder = bucket_dir() / "legacy"
    folder.mkdir(parents=True)
    for seed, name in enumerate(LEGACY, 41):
        (folder / name).write_bytes(tiny_model_bytes(None, seed=seed, unnamed=True))
    first, second = "catboost_v9_train1102_0215", "catboost_v9_train1201_0301"
    monthly = {
        first: {"train_start": "2025-11-02", "train_end": "2026-02-15", "model_path": f"file://{folder / LEGACY[0]}"},
        second: {"train_start": "2025-12-01", "train_end": "2026-03-01", "model_path": f"file://{folder / LEGACY[1]}"},
    }
    monthly[first]["enabled"] = True
    export = isolated_env / "MONTHLY_MODELS.json"
    export.write_text(json.dumps(monthly))
    argv = ["import-legacy", str(export), "--champion", f"file://{folder / LEGACY[1]}"]

    out = run_readonly(bucket_dir(), [str(MODELCTL), *argv])

    assert out.returncode == ServingBehind.exit_code, out.stdout + out.stderr
    assert "5 registry changes committed; serving manifest not yet rebuilt" in out.stderr, out.stderr
    registry = open_registry(Settings.from_env())
    assert {(m.model_id, m.status, m.enabled) for m in registry.list()} == {
        (first, "shadow", True),
        (second, "champion", True),
    }
    assert not (bucket_dir() / MANIFEST_OBJECT).exists()
    rerun = run(*argv)  # nothing left to import: the rerun still converges what serves
    assert rerun.returncode == 0 and "Nothing to change" in rerun.stdout, rerun.stderr
    assert "serving manifest rebuilt" in rerun.stderr
    assert served(manifest()) == (second, {first, second})


def test_a_registry_restored_from_a_backup_is_not_outranked_by_the_newer_manifest(models: dict[str, str]) -> None:
    """The manifest was built from registry version N; the registry is restored from a copy with
    fewer events (a backup, a point-in-time restore). The manifest's count is higher but its event
    is not in this registry: it is not 'in step', and the next registry command rebuilds it (it
    used to stay as it was, reported in step, while the registry's changes never reached serving)."""
    registry_file = Path(Settings.from_env().registry_url.removeprefix("duckdb://"))
    backup = registry_file.with_name("backup.duckdb")
    backup.write_bytes(registry_file.read_bytes())  # champion served, other enabled
    assert run(*change("promote", models)).returncode == 0
    assert run(*change("disable", models)).returncode == 0
    newer = manifest()
    assert served(newer) == (models["shadow"], {models["champion"], models["shadow"]})
    registry_file.write_bytes(backup.read_bytes())  # the restore: fewer events than the manifest records
    assert open_registry(Settings.from_env()).version().events < newer.registry_version  # type: ignore[operator]

    workers = run("workers")
    assert workers.returncode == 0, workers.stderr
    text = " ".join(workers.stdout.split())
    assert "in step" not in text and "is behind the registry" in text, text
    assert f"champion {models['champion']} in the registry, {models['shadow']} served" in text
    rerun = run("enable", models["other"])  # a registry command that changes nothing: it converges
    assert rerun.returncode == 0 and "serving manifest rebuilt" in rerun.stderr, rerun.stderr
    assert served(manifest()) == (models["champion"], set(models.values()))
    assert "in step with the registry" in run("workers").stdout


def test_a_worker_whose_registry_check_fails_says_so_rather_than_in_step(
    models: dict[str, str], worker_env: dict[str, str], tmp_path: Path
) -> None:
    """The manifest is fine but the registry cannot be read (held by another writer here): the
    worker keeps serving, and /status says its check failed and why; it said only
    ``behind_registry: false`` with the last (stale) comparison, as if it had checked."""
    import sys

    registry_url = Settings.from_env().registry_url
    busy_soon = {**worker_env, "MODEL_REGISTRY_URL": f"{registry_url}?lock_wait=1"}  # not the default 15 s
    fn = FunctionProcess.start("predict", busy_soon, tmp_path)
    holder = None
    try:
        wait_for(lambda: status(fn)["registry_check"], what="the worker's first check")
        registry_file = registry_url.removeprefix("duckdb://")
        hold = (  # the worker's own check may hold the file for a moment: take it as soon as it is free
            "import duckdb, time\n"
            "for _ in range(600):\n"
            "    try:\n"
            f"        c = duckdb.connect({registry_file!r}); break\n"
            "    except duckdb.IOException:\n"
            "        time.sleep(0.05)\n"
            "print('held', flush=True); time.sleep(60)\n"
        )
        holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        failed = wait_for(lambda: (s := status(fn)) and s.get("registry_check_error") and s, what="the failed check")
        assert "busy or unreadable" in failed["registry_check_error"] and failed["champion"] == models["champion"]
        holder.kill()
        holder.wait()
        wait_for(lambda: (s := status(fn)) and s.get("registry_check_error", "") is None, what="a good check again")
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
        fn.stop()
