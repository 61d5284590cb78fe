"""Prediction worker benchmark: slate scoring vs the raw CatBoost floor, cold start,
memory per model, and end-to-end reload latency with several worker processes.

Run: .venv/bin/python bench/bench_worker.py   (about a minute on 2 cores)
     .venv/bin/python bench/bench_worker.py --quick   (6 models, fewer repeats, no MLflow peer: `make bench-quick`)

Stopping it (Ctrl-C, SIGTERM, SIGHUP) stops every worker, emulator and function it started.

Ratios are measured within one run, interleaved, because the machines are shared
and noisy; absolute milliseconds are only indicative.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.data.synth import generate_season  # noqa: E402
from common.feature_sets import get_feature_set  # noqa: E402
from common.features import build_training_frame, to_model_input  # noqa: E402
from common.registry.modelfile import embed_card  # noqa: E402
from tests.support.tiny import tiny_card  # noqa: E402

FAMILIES = [("v9", "MAE", None), ("v9", "Quantile", 0.43), ("v9", "Quantile", 0.45),
            ("v12", "MAE", None), ("v12_noveg", "MAE", None), ("v12_noveg", "Quantile", 0.43)]  # fmt: skip
N_MODELS, SLATE, REPEATS, ROUNDS, ITERATIONS = 30, 500, 40, 5, 300
QUICK = False  # --quick: the same measures on fewer models and repeats, without the MLflow peer


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def train_models(workdir: Path) -> list[tuple[Path, object]]:
    """30 realistic models (300 trees, depth 6) across feature sets, trained on a synthetic season."""
    from catboost import CatBoostRegressor

    season = generate_season(seed=5)
    frame = build_training_frame(season, date(2025, 11, 1), date(2026, 1, 31)).sample(8000, random_state=0)
    files = []
    for i in range(N_MODELS):
        fs, loss, alpha = FAMILIES[i % len(FAMILIES)]
        x = to_model_input(frame, fs)
        cat_loss = f"Quantile:alpha={alpha}" if loss == "Quantile" else "MAE"
        model = CatBoostRegressor(
            iterations=ITERATIONS,
            depth=6,
            loss_function=cat_loss,
            random_seed=i,
            verbose=0,
            allow_writing_files=False,
            thread_count=2,
        )
        model.fit(x, frame["actual_points"].to_numpy())
        if not get_feature_set(fs).by_name:
            model.set_feature_names(list(get_feature_set(fs).features))
        embed_card(model, tiny_card(fs, loss, alpha, date(2025, 11, 1 + i % 28), date(2026, 1, 31)))
        path = workdir / f"m{i:02d}.cbm"
        model.save_model(str(path))
        files.append((path, frame))
    return files


def main() -> None:
    global N_MODELS, REPEATS, ROUNDS, ITERATIONS, QUICK
    from infra.local.processes import raise_on_termination

    raise_on_termination()  # SIGTERM / SIGHUP unwind through the finally blocks below, as Ctrl-C does
    if "--quick" in sys.argv[1:]:
        N_MODELS, REPEATS, ROUNDS, ITERATIONS, QUICK = 6, 10, 3, 100, True
    workdir = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    os.environ.update(
        MODEL_REGISTRY_URL=f"duckdb://{workdir / 'r.duckdb'}",
        MODEL_BUCKET_URL=f"file://{workdir / 'b'}",
        EVENT_BUS_URL="inprocess://",
        MODELCTL_ACTOR="bench",
    )
    from common.app import open_registry, registration_service
    from common.log import setup_logging
    from common.registry.service import RegistryService
    from common.registry.store import RegistryStore
    from common.settings import Settings

    setup_logging("WARNING")
    t0 = time.perf_counter()
    files = train_models(workdir)
    print(f"trained {len(files)} models in {time.perf_counter() - t0:.1f}s")
    settings = Settings.from_env()
    store = RegistryStore.open(settings.registry_url)
    store.migrate(RegistryService(store).clock())
    service = registration_service(settings)
    ids = []
    for path, _ in files:
        ids.append(service.register_file(path).record.model_id)
        service.registry.enable(ids[-1])
    open_registry(settings).promote(ids[0])
    slate = files[0][1].head(SLATE).reset_index(drop=True)
    slate["game_date"] = slate["game_date"]
    scoring(settings, workdir, slate)
    cold_start(workdir)
    reload_latency(settings, workdir, ids)
    reload_latency_on_stack(workdir, [path for path, _ in files])


def scoring(settings: object, workdir: Path, slate: object) -> None:
    from catboost import Pool

    from common.worker.scoring import score_slate
    from common.worker.slate import Slate
    from common.worker.worker import Worker

    before = rss_mb()
    worker = Worker(settings, worker_id="bench", cache_dir=workdir / "cache")  # type: ignore[arg-type]
    worker.reload()
    serving = worker.current
    per_model = (rss_mb() - before) / len(serving.models)
    groups = serving.by_feature_set()
    # The raw route starts from the same feature matrices (float32, one per feature set, built
    # outside the timing) and does what CatBoost needs: one shared Pool per feature set, every
    # model scored on it. Pools are built inside the timing: a new slate is new data.
    matrices = {fs: np.ascontiguousarray(slate[list(ms[0].feature_names)].to_numpy(np.float32))
                for fs, ms in groups.items()}  # fmt: skip
    executor = ThreadPoolExecutor(2)

    def floor_two_threads() -> None:
        pools = {fs: Pool(m) for fs, m in matrices.items()}
        list(executor.map(lambda job: job[0].model.predict(pools[job[1]], thread_count=1),
                          [(m, fs) for fs, ms in groups.items() for m in ms]))  # fmt: skip

    def floor_sequential() -> None:
        pools = {fs: Pool(m) for fs, m in matrices.items()}
        for fs, ms in groups.items():
            for served in ms:
                served.model.predict(pools[fs], thread_count=2)

    in_memory = Slate.from_frame(slate)  # the form slate_features() hands the worker
    # CatBoost's own thread pool (thread_count=2) keeps its threads spinning a while after a
    # call, which slows whatever runs next: the sequential route is compared in its own block.
    floors = interleaved({"raw catboost, shared pools, 2 threads": floor_two_threads,
                          "raw catboost, shared pools, sequential thread_count=2": floor_sequential})  # fmt: skip
    print(f"\nslate {len(slate)} players x {len(serving.models)} models: which raw route is the floor "
          f"(median of {REPEATS}, interleaved)")  # fmt: skip
    report(floors, "raw catboost, shared pools, 2 threads")
    print(f"worker vs that floor: {ROUNDS} rounds of {REPEATS}, interleaved and rotated")
    ratios: dict[str, list[float]] = {}
    for _ in range(ROUNDS):
        medians = interleaved({"raw catboost, shared pools, 2 threads": floor_two_threads,
                               "worker score_slate(Slate) -> rows": lambda: score_slate(serving, in_memory),
                               "worker score_slate(DataFrame) -> rows": lambda: score_slate(serving, slate),
                               "  of which Slate.from_frame": lambda: Slate.from_frame(slate)})  # fmt: skip
        for name, value in medians.items():
            ratios.setdefault(name, []).append(value / medians["raw catboost, shared pools, 2 threads"])
    report(medians, "raw catboost, shared pools, 2 threads", label="last round")
    for name, values in ratios.items():
        if "2 threads" not in name:
            each = " ".join(f"{v:.2f}" for v in values)
            print(f"  {name:55s} rounds: {each}  median {statistics.median(values):.2f}x")
    print(f"memory per loaded model (RSS delta / models): {per_model:.2f} MB")
    mlflow_peer(workdir, serving, in_memory)


def interleaved(routes: dict[str, Any]) -> dict[str, float]:
    """Median ms per route; the order rotates each repetition so no route always follows another."""
    names = list(routes)
    timings: dict[str, list[float]] = {name: [] for name in names}
    for r in range(REPEATS):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            routes[name]()
            timings[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(v) for name, v in timings.items()}


def report(medians: dict[str, float], floor_name: str, label: str = "") -> None:
    floor = medians[floor_name]
    for name, value in medians.items():
        print(f"  {name:55s} {value:7.1f} ms   {value / floor:4.2f}x floor  {label}")


def mlflow_peer(workdir: Path, serving: Any, slate: Any) -> None:
    """The same models through MLflow's pyfunc, in its own venv (bench/mlflow_peer.py)."""
    import json

    python = ROOT / ".venv-mlflow" / "bin" / "python"
    if QUICK:
        print("\nmlflow pyfunc peer: skipped (--quick)")
        return
    if not python.exists():
        print("\nmlflow pyfunc peer: skipped (no .venv-mlflow; `make bench-mlflow-venv` creates it)")
        return
    peer = workdir / "peer"
    peer.mkdir()
    np.save(peer / "slate.npy", slate.matrix)
    spec = {"columns": list(slate.columns), "models": []}
    for i, served in enumerate(serving.models):
        served.model.save_model(str(peer / f"m{i:02d}.cbm"))
        spec["models"].append({"file": f"m{i:02d}.cbm", "order": list(served.input_order)})
    (peer / "peer.json").write_text(json.dumps(spec))
    out = subprocess.run([str(python), str(ROOT / "bench" / "mlflow_peer.py"), str(peer), str(REPEATS)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    medians = result["median_ms"]
    floor = medians.pop("floor")
    print(f"\nmlflow {result['mlflow']} pyfunc peer, same {result['models']} models and {result['rows']} players, "
          f"own process (.venv-mlflow), interleaved with the floor there:")  # fmt: skip
    print(f"  {'raw catboost floor (that process)':55s} {floor:7.1f} ms   1.00x floor")
    for name, value in medians.items():
        print(f"  {'mlflow ' + name + ' (predictions only)':55s} {value:7.1f} ms   {value / floor:4.2f}x floor")
    print(f"  saving the models as MLflow models {result['save_s']:.1f}s; loading 30 pyfuncs {result['load_s']:.3f}s")


def cold_start(workdir: Path) -> None:
    code = (
        "import time; t0=time.perf_counter();"
        "from common.settings import Settings; from common.worker.worker import Worker;"
        "import catboost; t1=time.perf_counter();"
        f"w=Worker(Settings.from_env(), cache_dir=__import__('pathlib').Path('{workdir / 'cache'}'));"
        "w.reload(); t2=time.perf_counter();"
        "print(f'{len(w.current.models)} {t1-t0:.3f} {t2-t1:.3f}')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    n, imports, load = out.stdout.split()
    print(
        f"\ncold start to serving {n} models (cache warm): {float(load):.3f}s after imports "
        f"({float(imports):.3f}s of imports, {float(imports) + float(load):.3f}s in all)"
    )


WORKER_LOOP = """
import sys, time
from pathlib import Path
from common.log import setup_logging
from common.settings import Settings
from common.worker.worker import Worker
setup_logging("WARNING")
w = Worker(Settings.from_env(), worker_id=sys.argv[1], cache_dir=Path(sys.argv[2]))
w.reload(); w.start_polling(0.1)
print("ready", w.current.generation, flush=True)
last = w.current.generation
while True:
    if w.current.generation != last:
        last = w.current.generation
        print("serving", last, time.time(), flush=True)
    time.sleep(0.005)
"""


def reload_latency(settings: object, workdir: Path, ids: list[str], workers: int = 3, rounds: int = 5) -> None:
    from common.app import open_registry

    procs = [subprocess.Popen([sys.executable, "-c", WORKER_LOOP, f"w{i}", str(workdir / "cache")], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True) for i in range(workers)]  # fmt: skip
    try:
        for proc in procs:
            proc.stdout.readline()  # type: ignore[union-attr]
        registry = open_registry(settings)  # type: ignore[arg-type]
        latencies = []
        for i in range(rounds):
            started = time.time()
            (registry.disable if i % 2 == 0 else registry.enable)(ids[-1])
            finished = [float(p.stdout.readline().split()[2]) for p in procs]  # type: ignore[union-attr]
            latencies.append(max(finished) - started)
        print(
            f"\nreload latency, registry change -> all {workers} workers serving the new set "
            f"(poll 0.1 s): median {statistics.median(latencies):.3f}s, max {max(latencies):.3f}s over {rounds}"
        )
    finally:
        for proc in procs:
            proc.kill()


def reload_latency_on_stack(workdir: Path, files: list[Path], workers: int = 3, rounds: int = 5) -> None:
    """The same measure through the real parts: registry change → Pub/Sub emulator →
    ``on_registry_change`` (functions-framework) → manifest in fake-gcs-server → three
    ``predict`` HTTP functions polling it at the default interval, each asked ``GET /status``."""
    from infra.local.stack import LocalFunction, PushSpec, Stack, missing_prerequisites

    if missing := missing_prerequisites():
        print(f"\nreload latency on the emulator stack: skipped ({'; '.join(missing)})")
        return
    home = workdir / "stack"
    env = {"MODEL_REGISTRY_URL": f"duckdb://{home / 'registry.duckdb'}", "MODEL_BUCKET_URL": "gs://bench-models",
           "EVENT_BUS_URL": "pubsub://local-project", "MODELCTL_ACTOR": "bench"}  # fmt: skip
    names = [f"worker_{i}" for i in range(workers)]
    functions = [LocalFunction("on_registry_change", Path("functions/on_registry_change"))]
    functions += [LocalFunction(n, Path("functions/predict"), "predict", {"MODEL_CACHE_DIR": str(home / n)}, "http")
                  for n in names]  # fmt: skip
    started_at = time.perf_counter()
    stack = Stack.start(functions, [PushSpec("on_registry_change", topic="registry-change")], workdir=home,
                        bucket="bench-models", env=env)  # fmt: skip
    startup = time.perf_counter() - started_at
    saved = dict(os.environ)
    os.environ.update({**stack.env, **env})  # this process's clients talk to the stack too
    try:
        latencies, poll = _stack_rounds(stack, names, files, rounds)
        print(
            f"\nreload latency on the emulator stack (Pub/Sub emulator, on_registry_change, fake-gcs-server, "
            f"{workers} predict functions polling every {poll} s; stack up in "
            f"{startup:.1f}s): median {statistics.median(latencies):.3f}s, max {max(latencies):.3f}s over {rounds}"
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stack.stop()


def _stack_rounds(stack: Any, names: list[str], files: list[Path], rounds: int) -> tuple[list[float], float]:
    """Register the models through the stack's bucket, wait until every worker serves them, then
    time ``rounds`` registry changes until every worker's generation moves."""
    import json

    from common.app import open_registry, registration_service
    from common.registry.service import RegistryService
    from common.registry.store import RegistryStore
    from common.settings import Settings
    from infra.local.processes import http

    settings = Settings.from_env()
    store = RegistryStore.open(settings.registry_url)
    store.migrate(RegistryService(store).clock())
    service = registration_service(settings)
    ids = []
    for path in files:
        ids.append(service.register_object(service.bucket.write(f"models/{path.name}", path.read_bytes()).name)
                   .record.model_id)  # fmt: skip
        service.registry.enable(ids[-1])
    registry = open_registry(settings)

    def served(name: str) -> dict[str, Any]:
        return json.loads(http("GET", f"{stack.state['functions'][name]}status", timeout=30)[1])

    deadline = time.monotonic() + 60
    while any(len(served(n)["models"]) != len(ids) for n in names):
        assert time.monotonic() < deadline, "workers never loaded the models"
        time.sleep(0.1)
    latencies = []
    for i in range(rounds):
        before = {n: served(n)["generation"] for n in names}
        started = time.monotonic()
        (registry.disable if i % 2 == 0 else registry.enable)(ids[-1])
        waiting = set(names)
        while waiting:
            waiting = {n for n in waiting if served(n)["generation"] == before[n]}
            time.sleep(0.01)
        latencies.append(time.monotonic() - started)
    return latencies, settings.manifest_poll_seconds


if __name__ == "__main__":
    main()
