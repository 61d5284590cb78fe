"""Prediction worker benchmark: fused scoring against the fastest raw-CatBoost route, and more.

Also `modelctl --help`, registration per model, cold start, memory at many models, and reload
latency with several worker processes.

Ratios are measured within one run: every round times every route, interleaved, and the
routes' order rotates between repetitions and between rounds, because the machines are shared
and noisy; absolute milliseconds are only indicative. The floor is, in each round, the fastest
of the exact raw-CatBoost routes that score model by model (today's per-model floor), so a
ratio below 1 is a real gain over calling ``model.predict`` yourself.

Stopping it (Ctrl-C, SIGTERM, SIGHUP) stops every worker, emulator and function it started,
and its temporary folder is removed on every way out.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
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
SLATE, REPEATS, ROUNDS, ITERATIONS, DISTINCT = 500, 40, 5, 300, 30
QUICK = False  # --quick: the same measures on fewer models and repeats, without the MLflow peer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/bench_worker.py",
        description=__doc__.splitlines()[0],
        epilog="Full run: about 5 minutes on 2 cores. `make bench` runs it with --quick.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="6 and 12 models of 100 trees, fewer repeats, no MLflow peer (a check that it runs)",
    )
    parser.add_argument(
        "--models",
        type=_counts,
        default=None,
        metavar="N[,N...]",
        help="served models for the scoring comparison (default 30,100; --quick 6,12)",
    )
    parser.add_argument(
        "--rss-models",
        type=int,
        default=None,
        metavar="N",
        help="models a fresh worker loads for the memory figure (default 200; --quick 24)",
    )
    stack = parser.add_mutually_exclusive_group()
    stack.add_argument("--skip-stack", action="store_true", help="skip the emulator-stack reload latency")
    stack.add_argument("--stack-only", action="store_true",
                       help="only the emulator-stack reload latency (trains the fewest --models it needs)")  # fmt: skip
    return parser.parse_args(argv)  # fmt: skip


def _counts(value: str) -> list[int]:
    try:
        counts = [int(v) for v in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a list of whole numbers") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"model counts must be at least 1, got {value!r}")
    return counts


def load_average() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def train_models(workdir: Path, total: int) -> tuple[list[Path], Any]:
    """``DISTINCT`` realistic models (300 trees, depth 6) across feature sets, trained on a synthetic
    season; beyond them, copies with a shifted bias (other bytes and predictions, the same trees'
    cost), so that hundreds of served models need no hour of training."""
    from catboost import CatBoostRegressor

    season = generate_season(seed=5)
    frame = build_training_frame(season, date(2025, 11, 1), date(2026, 1, 31)).sample(8000, random_state=0)
    trained: list[Any] = []
    files = []
    for i in range(total):
        fs, loss, alpha = FAMILIES[i % len(FAMILIES)]
        if i < DISTINCT:
            cat_loss = f"Quantile:alpha={alpha}" if loss == "Quantile" else "MAE"
            model = CatBoostRegressor(iterations=ITERATIONS, depth=6, loss_function=cat_loss, random_seed=i,
                                      verbose=0, allow_writing_files=False, thread_count=2)  # fmt: skip
            model.fit(to_model_input(frame, fs), frame["actual_points"].to_numpy())
            if not get_feature_set(fs).by_name:
                model.set_feature_names(list(get_feature_set(fs).features))
            trained.append(model)
        else:
            model = trained[i % DISTINCT].copy()
            scale, bias = model.get_scale_and_bias()
            model.set_scale_and_bias(scale, bias + 0.01 * (i // DISTINCT))
        start = date(2025, 10, 1) + (date(2025, 10, 2) - date(2025, 10, 1)) * (i % 300)
        embed_card(model, tiny_card(fs, loss, alpha, start, date(2026, 9, 30)))
        path = workdir / f"m{i:03d}.cbm"
        model.save_model(str(path))
        files.append(path)
    return files, frame


def main(argv: list[str] | None = None) -> None:
    global REPEATS, ROUNDS, ITERATIONS, QUICK, DISTINCT
    args = parse_args(argv)
    from infra.local.processes import raise_on_termination

    raise_on_termination()  # SIGTERM / SIGHUP unwind through the finally blocks below, as Ctrl-C does
    if args.quick:
        REPEATS, ROUNDS, ITERATIONS, QUICK, DISTINCT = 10, 3, 100, True, 6
    counts = args.models or ([6, 12] if args.quick else [30, 100])
    rss_models = args.rss_models or (24 if args.quick else 200)
    workdir = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    try:
        if args.stack_only:
            reload_latency_on_stack(workdir, train_models(workdir, min(counts))[0])
        else:
            run(workdir, counts, rss_models, args.skip_stack)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(workdir: Path, counts: list[int], rss_models: int, skip_stack: bool) -> None:
    os.environ.update(
        MODEL_REGISTRY_URL=f"duckdb://{workdir / 'r.duckdb'}",
        MODEL_BUCKET_URL=f"file://{workdir / 'b'}",
        EVENT_BUS_URL="inprocess://",
        MODELCTL_ACTOR="bench",
    )
    from common.app import open_registry
    from common.log import setup_logging
    from common.registry.service import RegistryService
    from common.registry.store import RegistryStore
    from common.settings import Settings

    setup_logging("WARNING")
    print(f"bench_worker: {load_average()} on {os.cpu_count()} cores")
    cli_help()
    total = max(*counts, rss_models)
    t0 = time.perf_counter()
    files, frame = train_models(workdir, total)
    print(f"trained {min(total, DISTINCT)} models (+{max(0, total - DISTINCT)} bias-shifted copies) "
          f"in {time.perf_counter() - t0:.1f}s")  # fmt: skip
    settings = Settings.from_env()
    store = RegistryStore.open(settings.registry_url)
    store.migrate(RegistryService(store).clock())
    ids = register_all(settings, files)
    registry = open_registry(settings)
    registry.promote(registry.enable(ids[0]).model_id)
    slate = frame.head(SLATE).reset_index(drop=True)
    enabled = 1
    for count in sorted(counts):
        for model_id in ids[enabled:count]:
            registry.enable(model_id)
        enabled = max(enabled, count)
        scoring(settings, workdir, slate, count)
        if count == sorted(counts)[0]:
            cold_start(workdir, count)
    predict_function_start(workdir, max(counts))
    for model_id in ids[enabled:rss_models]:
        registry.enable(model_id)
    memory(workdir, rss_models)
    for model_id in ids[min(counts) :]:
        registry.disable(model_id)
    reload_latency(settings, workdir, ids[: min(counts)])
    if not skip_stack:
        reload_latency_on_stack(workdir, files[: min(counts)])


def cli_help(runs: int = 7) -> None:
    """``modelctl --help`` in a fresh process, as a user runs it."""
    modelctl = Path(sys.executable).with_name("modelctl")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(modelctl), "--help"], capture_output=True, check=True, env=env, cwd=ROOT)
        times.append(time.perf_counter() - start)
    print(f"`modelctl --help`, fresh process: median {statistics.median(times):.3f}s, "
          f"min {min(times):.3f}s over {runs} ({load_average()})")  # fmt: skip


def register_all(settings: Any, files: list[Path]) -> list[str]:
    """Every model registered (disabled) through the registration service, warm: seconds per model."""
    from common.app import registration_service

    service = registration_service(settings)
    service.register_file(files[-1])  # the first registration pays the imports
    ids, times = [], []
    for path in files[:-1]:
        start = time.perf_counter()
        ids.append(service.register_file(path).record.model_id)
        times.append(time.perf_counter() - start)
    ids.append(service.register_file(files[-1]).record.model_id)
    print(f"registration, warm, embedded engine: median {statistics.median(times):.3f}s per model, "
          f"p90 {sorted(times)[int(0.9 * len(times))]:.3f}s over {len(times)} ({load_average()})")  # fmt: skip
    return ids


def scoring(settings: object, workdir: Path, slate: Any, count: int) -> None:
    from catboost import Pool

    from common.worker.fusion import ScoringPlan, plan_key
    from common.worker.scoring import score_slate
    from common.worker.slate import Slate
    from common.worker.worker import Worker

    worker = Worker(settings, worker_id="bench", cache_dir=workdir / "cache")  # type: ignore[arg-type]
    worker.reload()
    worker.settle()  # the fused ensembles, built in the background after the swap
    serving = worker.current
    models = serving.models
    per_model = replace(serving, prepared=ScoringPlan(plan_key(models), (), tuple(range(len(models)))))
    in_memory = Slate.from_frame(slate)  # the form slate_features() hands the worker
    # The raw routes start from the feature matrices (float32, one per feature order, built
    # outside the timing) and do what CatBoost needs: one shared Pool per order, every model
    # scored on it. Pools are built inside the timing: a new slate is new data.
    matrices = {order: in_memory.gather(order) for order, _ in serving.input_groups}
    jobs = [(m.model, m.input_order) for m in models]
    executor = ThreadPoolExecutor(2)

    def raw_two_threads() -> None:
        pools = {order: Pool(m, thread_count=1) for order, m in matrices.items()}
        list(executor.map(lambda job: job[0].predict(pools[job[1]], thread_count=1), jobs))

    def raw_sequential(threads: int) -> Any:
        def route() -> None:
            pools = {order: Pool(m, thread_count=1) for order, m in matrices.items()}
            for model, order in jobs:
                model.predict(pools[order], thread_count=threads)

        return route

    floors = {"raw catboost per model, 2 threads": raw_two_threads,
              "raw catboost per model, sequential thread_count=1": raw_sequential(1),
              "raw catboost per model, sequential thread_count=2": raw_sequential(2)}  # fmt: skip
    routes = {**floors,
              "worker fused (score_slate -> rows)": lambda: score_slate(serving, in_memory),
              "worker per model, today's route (score_slate -> rows)": lambda: score_slate(per_model, in_memory),
              "  of which Slate.from_frame": lambda: Slate.from_frame(slate)}  # fmt: skip
    plan = serving.plan
    print(f"\nscoring: slate {len(slate)} players x {len(models)} models ({plan.fused_models} fused in "
          f"{len(plan.fused)} ensembles, {len(plan.alone)} alone); {ROUNDS} rounds of {REPEATS}, "
          f"interleaved, order rotated; floor = fastest raw per-model route of each round "
          f"({load_average()})")  # fmt: skip
    ratios: dict[str, list[float]] = {}
    floor_names: list[str] = []
    for r in range(ROUNDS):
        names = list(routes)
        order = names[r % len(names) :] + names[: r % len(names)]  # a new starting route each round
        medians = interleaved({name: routes[name] for name in order})
        floor_name = min(floors, key=lambda name: medians[name])
        floor_names.append(floor_name.split(", ", 1)[1])
        for name, value in medians.items():
            ratios.setdefault(name, []).append(value / medians[floor_name])
    for name in routes:
        values = ratios[name]
        each = " ".join(f"{v:.2f}" for v in values)
        print(f"  {name:56s} {statistics.median(values):5.2f}x floor (rounds: {each})")
    print(f"  the floor each round: {', '.join(floor_names)}; last round's floor "
          f"{min(medians[n] for n in floors):.1f} ms")  # fmt: skip
    executor.shutdown()
    if count == 30 or QUICK:
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


COLD = """
import time; t0 = time.perf_counter()
from pathlib import Path
from common.settings import Settings
from common.worker.worker import Worker
import catboost
t1 = time.perf_counter()
w = Worker(Settings.from_env(), cache_dir=Path({cache!r}))
w.reload(acknowledge=False)  # serving; the acknowledgement is written after (as the predict function does)
t2 = time.perf_counter()
w.settle()  # returns once the fused set serves and the models it replaced are freed
t3 = time.perf_counter()
def mb(key):
    return int(next(line for line in open("/proc/self/status") if line.startswith(key)).split()[1]) // 1024
fused_rss = mb("VmRSS")
# then serving: 20 slates of 500 players (random features), the RSS read after the last
import numpy as np, pandas as pd
from common.feature_sets import V12_FEATURES
rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(10, 5, size=(500, len(V12_FEATURES))), columns=list(V12_FEATURES))
frame["game_date"], frame["game_id"], frame["player_id"] = pd.Timestamp("2026-01-15"), "g", np.arange(500)
for _ in range(20):
    w.score(frame)
print(len(w.current.models), w.current.plan.fused_models, f"{{t1 - t0:.3f}}", f"{{t2 - t1:.3f}}",
      fused_rss, mb("VmHWM"), f"{{t3 - t2:.3f}}", mb("VmRSS"))
"""


def _fresh_worker(workdir: Path) -> list[str]:
    code = COLD.format(cache=str(workdir / "cache"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    return out.stdout.split()


def cold_start(workdir: Path, count: int, runs: int = 3) -> None:
    results = [_fresh_worker(workdir) for _ in range(runs)]
    best = min(results, key=lambda r: float(r[2]) + float(r[3]))
    n, fused, imports, load, fusing = best[0], best[1], float(best[2]), float(best[3]), float(best[6])
    print(
        f"\ncold start to serving {n} models, cache warm, best of {runs}: {load:.3f}s after imports "
        f"({imports:.3f}s of imports, {imports + load:.3f}s in all); {fused} of them fused "
        f"{fusing:.3f}s later, in the background ({load_average()})"
    )


def predict_function_start(workdir: Path, count: int, runs: int = 3) -> None:
    """``functions/predict`` as a real functions-framework process on 127.0.0.1 (the model cache
    warm, the serving manifest in the local bucket): from process start until ``GET /status``
    answers with every model served (its first request loads them)."""
    import json
    import signal

    from infra.local.processes import free_port, function_cmd, function_env, http, launch

    times = []
    for run in range(runs):
        port = free_port()
        env = {**os.environ, **function_env("predict", "predict"), "MODEL_CACHE_DIR": str(workdir / "cache")}
        cmd = function_cmd("predict", ROOT / "functions" / "predict" / "main.py", port, "http")
        started = time.perf_counter()
        _, popen = launch("predict", cmd, port, workdir / f"predict-{run}.log", env, ROOT)
        try:
            served = 0
            while served != count:
                if popen.poll() is not None or time.perf_counter() - started > 120:
                    tail = (workdir / f"predict-{run}.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"the predict function never served {count} models; its log ends:\n{tail}")
                try:
                    served = len(json.loads(http("GET", f"http://127.0.0.1:{port}/status", timeout=60)[1])["models"])
                except OSError:  # not listening yet
                    time.sleep(0.01)
            times.append(time.perf_counter() - started)
        finally:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait(10)
    print(f"\npredict function (functions-framework on 127.0.0.1), process start -> serving {count} models, "
          f"cache warm: median {statistics.median(times):.2f}s, min {min(times):.2f}s over {runs} "
          f"({load_average()})")  # fmt: skip


def memory(workdir: Path, count: int) -> None:
    """A fresh worker's RSS (``/proc/self/status``) once ``settle()`` returned (the fused set serves,
    the models it replaced are freed), and again after it scored 20 slates of 500 players."""
    n, fused, imports, load, rss, peak, fusing, serving = _fresh_worker(workdir)
    print(
        f"\nworker RSS serving {n} models ({fused} fused): {rss} MB once fused, {serving} MB after 20 slates "
        f"(peak {peak} MB); start to serving {float(imports) + float(load):.2f}s, fused {float(fusing):.2f}s "
        f"later ({load_average()})"
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
            f"{startup:.1f}s): first change {latencies[0]:.3f}s (the function's first event: its imports and "
            f"clients); then median {statistics.median(latencies[1:]):.3f}s, max {max(latencies[1:]):.3f}s "
            f"over {rounds} "
            f"(rounds: {' '.join(f'{x:.2f}' for x in latencies[1:])})"
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
    commits: list[float] = []  # the bench's own part: the registry write and the Pub/Sub publish
    for i in range(rounds + 1):  # the first change is on_registry_change's first event: reported apart
        before = {n: served(n)["generation"] for n in names}
        started = time.monotonic()
        (registry.disable if i % 2 == 0 else registry.enable)(ids[-1])
        commits.append(time.monotonic() - started)
        waiting = set(names)
        while waiting:
            waiting = {n for n in waiting if served(n)["generation"] == before[n]}
            time.sleep(0.01)
        latencies.append(time.monotonic() - started)
    print(f"  of each change, committed and published by the bench: {' '.join(f'{x:.2f}' for x in commits)} s")
    return latencies, settings.manifest_poll_seconds


if __name__ == "__main__":
    main()
