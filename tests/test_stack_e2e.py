"""End to end over the emulator stack, with the real functions.

google-cloud-storage upload → fake-gcs-server → OBJECT_FINALIZE on the Pub/Sub
emulator → Eventarc bridge → ``register_model`` (functions-framework) → disabled
registry row → registry-change message → ``on_registry_change`` → serving
manifest in the bucket. Then a CLI-style enable travels the same way, and two running
prediction workers (the ``predict`` HTTP function, each its own process) serve the new
model without restarting. Last, from a shell set up the way docs/functions.md says (``eval
"$(python -m infra.local.stack env)"``), ``modelctl upload`` puts a model into fake-gcs-server
(registered by the trigger), ``modelctl enable`` reaches the workers, ``modelctl predict`` scores a
date, and ``modelctl publish graded-games`` travels through the Pub/Sub emulator to
``update_performance`` (functions-framework), which fills ``model_performance_daily``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from common.app import open_registry
from common.data.store import write_season
from common.data.synth import generate_season
from common.manifest import MANIFEST_OBJECT, Manifest
from common.registry.store import RegistryStore
from common.settings import Settings
from infra.local.processes import ROOT, http
from infra.local.stack import LocalFunction, PushSpec, Stack, missing_prerequisites
from tests.conftest import ModelFiles
from tests.support.migrated import migrated_store
from tests.support.stack_events import storage_client

MISSING = missing_prerequisites()
pytestmark = [
    pytest.mark.emulator,
    pytest.mark.skipif(bool(MISSING), reason=f"local emulator stack unavailable: {'; '.join(MISSING)}"),
]
BUCKET = "e2e-models"
PROJECT = "local-project"
WORKERS = ("worker_a", "worker_b")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, dict[str, str]]]:
    workdir = tmp_path_factory.mktemp("e2e")
    registry_url = f"duckdb://{workdir / 'registry.duckdb'}"
    store = migrated_store(registry_url)
    write_season(store.engine, generate_season(seed=11))  # for predict → grade
    env = {
        "MODEL_REGISTRY_URL": registry_url,
        "MODEL_BUCKET_URL": f"gs://{BUCKET}",
        "EVENT_BUS_URL": f"pubsub://{PROJECT}",
        "MODELCTL_ACTOR": "eventarc",
    }
    running = Stack.start(
        functions=[
            LocalFunction("register_model", Path("functions/register_model")),
            LocalFunction("on_registry_change", Path("functions/on_registry_change")),
            LocalFunction("update_performance", Path("functions/update_performance")),
            *(
                LocalFunction(name, Path("functions/predict"), "predict", worker_env(workdir / name), "http")
                for name in WORKERS
            ),
        ],
        subscriptions=[
            PushSpec("register_model", trigger="storage"),
            PushSpec("on_registry_change", topic="registry-change"),
            PushSpec("update_performance", topic="graded-games"),
        ],
        bucket=BUCKET,
        workdir=workdir,
        project=PROJECT,
        env=env,
    )
    try:
        yield running, {**running.env, **env}
    finally:
        running.stop()


def worker_env(home: Path) -> dict[str, str]:
    return {"MODEL_CACHE_DIR": str(home / "cache"), "MANIFEST_POLL_SECONDS": "0.1"}


def status(running: Stack, worker: str) -> dict[str, Any]:
    code, body = http("GET", f"{running.state['functions'][worker]}status")
    assert code == 200, body
    return json.loads(body)


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def on_stack(stack: tuple[Stack, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> tuple[Stack, dict[str, str]]:
    """The stack, with this test's clients (registry, bus, storage) pointed at it."""
    for key, value in stack[1].items():
        monkeypatch.setenv(key, value)
    return stack


def test_upload_becomes_a_disabled_row_and_enable_reaches_the_manifest(
    on_stack: tuple[Stack, dict[str, str]], model_files: ModelFiles
) -> None:
    running, _ = on_stack
    settings = Settings.from_env()
    bucket = storage_client(running.env).bucket(BUCKET)
    blob = bucket.blob("models/v9/v9_q43/catboost_v9_q43.cbm")
    blob.upload_from_string(model_files.v9_q43, if_generation_match=0)

    registry = open_registry(settings)
    rows = wait_for(lambda: registry.list(), what="the finalize event to register the model")
    assert [(m.model_id, m.enabled, m.registered_by) for m in rows] == [
        ("catboost_v9_q43_train1102_0215", False, "eventarc")
    ]
    assert rows[0].model_path == f"gs://{BUCKET}/models/v9/v9_q43/catboost_v9_q43.cbm"
    assert rows[0].source_generation == str(blob.generation)

    def manifest() -> Manifest | None:
        stored = bucket.get_blob(MANIFEST_OBJECT)
        return Manifest.from_json(stored.download_as_bytes()) if stored else None

    first = wait_for(manifest, what="on_registry_change to write the manifest")
    assert first.models == ()
    registry.enable(rows[0].model_id)  # published to the emulator, pushed to on_registry_change
    served = wait_for(lambda: (m := manifest()) and m.models and m, what="the manifest to list the enabled model")
    assert served.generation > first.generation
    assert [(m.model_id, m.sha256) for m in served.models] == [(rows[0].model_id, rows[0].sha256)]
    assert os.environ["EVENT_BUS_URL"] == f"pubsub://{PROJECT}"


def test_running_workers_serve_a_newly_enabled_model_without_restart(
    on_stack: tuple[Stack, dict[str, str]], model_files: ModelFiles
) -> None:
    running, env = on_stack
    registry = open_registry(Settings.from_env())
    blob = storage_client(running.env).bucket(BUCKET).blob("models/v12_noveg/q45/catboost_v12_noveg_q45.cbm")
    blob.upload_from_string(model_files.v12_noveg_q45, if_generation_match=0)
    new = wait_for(lambda: [m for m in registry.list() if m.feature_set == "v12_noveg"], what="the upload to register")[
        0
    ]
    before = {name: status(running, name) for name in WORKERS}
    pids = {name: running.processes[name].pid for name in WORKERS}
    assert all(new.model_id not in s["models"] for s in before.values())

    started = time.monotonic()
    registry.enable(new.model_id)  # registry-change → on_registry_change → manifest → both pollers
    latency = {}
    for name in WORKERS:
        now = wait_for(lambda n=name: (s := status(running, n)) and new.model_id in s["models"] and s, 15.0,
                       what=f"{name} to serve {new.model_id}")  # fmt: skip
        latency[name] = time.monotonic() - started
        assert now["models"][new.model_id] == new.sha256
        assert now["generation"] > before[name]["generation"] and not now["skipped"]
    assert {name: running.processes[name].pid for name in WORKERS} == pids  # no restart
    print(f"registry change -> both workers serving: {max(latency.values()):.2f}s")  # the figure: bench/
    engine = RegistryStore.open(env["MODEL_REGISTRY_URL"]).engine

    def acknowledged() -> bool:  # a worker records its ack just after it starts serving
        acks = engine.query("SELECT worker_id, models_json FROM worker_acks")
        return sum(new.model_id in json.loads(row["models_json"]) for row in acks) >= len(WORKERS)

    wait_for(acknowledged, 15.0, what="both workers to acknowledge the new set")


GRADED_DAY = "2026-01-15"
# The benchmark's smallest run (two models: one warm registration to time): what is tested is its stop.
SMALLEST_BENCH = ("--models", "2", "--stack-only")  # two models, straight to the stack


def shell(running: Stack, script: str) -> subprocess.CompletedProcess[str]:
    """``script`` in bash after the README's ``eval "$(python -m infra.local.stack env)"``, with
    nothing of this test's environment beyond PATH and HOME: the stack's env must be enough."""
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp")}
    if "PYTHONPATH" in os.environ:  # a worktree's own common/ (not configuration: the stack's env must be enough)
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    line = f'eval "$({sys.executable} -m infra.local.stack env --workdir={running.workdir})" && {script}'
    return subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_from_the_stack_env_modelctl_predicts_and_publish_graded_games_grades_through_pubsub(
    on_stack: tuple[Stack, dict[str, str]], model_files: ModelFiles, tmp_path: Path
) -> None:
    running, env = on_stack
    exported = shell(running, "env")
    assert exported.returncode == 0, exported.stderr
    for key in ("MODEL_REGISTRY_URL", "MODEL_BUCKET_URL", "EVENT_BUS_URL", "PUBSUB_EMULATOR_HOST"):
        assert f"{key}={env[key]}" in exported.stdout.splitlines()
    assert "MODELCTL_ACTOR" not in exported.stdout  # the audit trail names the user, not "eventarc"

    model = tmp_path / "catboost_v9_mae.cbm"
    model.write_bytes(model_files.v9_mae)
    uploaded = shell(running, f"modelctl upload {model} --name models/v9/v9_mae/catboost_v9_mae.cbm")
    assert uploaded.returncode == 0 and f"gs://{BUCKET}/models/v9/v9_mae/catboost_v9_mae.cbm" in uploaded.stdout, (
        uploaded.stdout + uploaded.stderr
    )
    registry = open_registry(Settings.from_env())
    (new,) = wait_for(lambda: [m for m in registry.list() if m.model_family == "v9_mae"], what="the upload to register")
    enabled = shell(running, f"modelctl enable {new.model_id}")
    assert enabled.returncode == 0, enabled.stderr
    # Picks need a champion (issue 11.1): the first one needs no evidence; a sitting one is replaced by force.
    promoted = shell(running, f"modelctl promote {new.model_id} --force --reason 'stack e2e: serve picks'")
    assert promoted.returncode == 0, promoted.stderr
    bucket = storage_client(running.env).bucket(BUCKET)
    wait_for(
        lambda: Manifest.from_json(bucket.blob(MANIFEST_OBJECT).download_as_bytes()).champion == new.model_id,
        what="the shell's enable and promote to reach the serving manifest",
    )
    predicted = shell(running, f"modelctl predict --date {GRADED_DAY} --json")
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout)["rows"] > 0

    published = shell(running, f"modelctl publish graded-games --date {GRADED_DAY} --json")
    assert published.returncode == 0, published.stderr
    out = json.loads(published.stdout)
    assert out["bus"] == f"pubsub://{PROJECT}" and out["deliveries"] == []  # delivered by Pub/Sub, not in-process
    engine = RegistryStore.open(env["MODEL_REGISTRY_URL"]).engine
    daily = "SELECT system_id, n FROM model_performance_daily WHERE game_date = @d"
    rows = wait_for(lambda: engine.query(daily, {"d": date.fromisoformat(GRADED_DAY)}), 60,
                    what="update_performance to grade the day")  # fmt: skip
    assert new.model_id in {r["system_id"] for r in rows} and all(r["n"] > 0 for r in rows)
    log = running.log_path("update_performance").read_text()
    assert f"graded-games from modelctl: {GRADED_DAY}" in log


def test_a_stopped_benchmark_leaves_no_emulator_or_function_behind(tmp_path: Path) -> None:
    """`make bench` stopped while its emulator stack runs (SIGTERM, as `timeout` or a closing
    terminal sends): every process the stack started is gone, and so is its state file."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    bench = subprocess.Popen([sys.executable, "bench/bench_worker.py", "--quick", *SMALLEST_BENCH], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:

        def stack_state() -> dict[str, Any] | None:
            assert bench.poll() is None, f"the benchmark ended before its stack ran: {bench.communicate()[1]}"
            for path in tmp_path.glob("bench-worker-*/stack/state.json"):
                state = json.loads(path.read_text())
                if "worker_2" in state["processes"]:  # the last function has been launched
                    return state
            return None

        state = wait_for(stack_state, 300.0, what="the benchmark to start its emulator stack")
        bench.terminate()
        assert bench.wait(timeout=60) != 0
    finally:
        bench.kill()
    pids = [info["pid"] for info in state["processes"].values()]
    assert len(pids) >= 5  # pubsub, gcs, on_registry_change and the predict functions

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")

    assert wait_for(lambda: not any(alive(pid) for pid in pids), 15.0, what="the stack's processes to exit")
    assert not list(tmp_path.glob("bench-worker-*/stack/state.json"))
    assert "KeyboardInterrupt: stopped by signal SIGTERM" in (bench.stderr.read() if bench.stderr else "")
