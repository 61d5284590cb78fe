"""The MLflow pyfunc peer route for the worker benchmark, run inside `.venv-mlflow`.

A team not using this worker would log each CatBoost model with MLflow's catboost
flavour and serve it through ``mlflow.pyfunc``: one ``predict(DataFrame)`` per model.
This script does that for the benchmark's models and times it against the raw
CatBoost floor (the same floor as bench_worker.py: one shared Pool per feature order
from float32 matrices, every model scored from 2 threads), interleaved in one process
so the ratio holds on a noisy machine.

Input: a directory written by bench_worker.py with ``slate.npy`` (float32, V12
superset), ``peer.json`` ({"columns": [...], "models": [{"file": …, "order": [...]}]})
and the ``.cbm`` files. Prints one JSON object.

Run by bench_worker.py when `.venv-mlflow/bin/python` exists (`make bench-mlflow-venv`).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd


def main(workdir: Path, repeats: int) -> None:
    import catboost
    import mlflow
    import mlflow.catboost
    import mlflow.pyfunc
    from catboost import CatBoostRegressor, Pool

    spec = json.loads((workdir / "peer.json").read_text())
    superset = np.load(workdir / "slate.npy")
    column = {name: i for i, name in enumerate(spec["columns"])}
    models, orders = [], []
    for entry in spec["models"]:
        model = CatBoostRegressor()
        model.load_model(str(workdir / entry["file"]))
        models.append(model)
        orders.append(tuple(entry["order"]))
    # The inputs each route starts from, built outside the timing: float32 matrices for the
    # floor, one named DataFrame per feature order for pyfunc (its documented input).
    matrices = {o: np.ascontiguousarray(superset[:, [column[n] for n in o]]) for o in dict.fromkeys(orders)}
    frames = {o: pd.DataFrame(m, columns=list(o)) for o, m in matrices.items()}

    saved = Path(tempfile.mkdtemp(prefix="mlflow-peer-"))
    t0 = time.perf_counter()
    for i, model in enumerate(models):
        mlflow.catboost.save_model(model, str(saved / f"m{i:02d}"), pip_requirements=["catboost"])
    save_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pyfuncs = [mlflow.pyfunc.load_model(str(saved / f"m{i:02d}")) for i in range(len(models))]
    load_s = time.perf_counter() - t0
    for pyfunc, model, order in zip(pyfuncs, models, orders, strict=True):  # same numbers as CatBoost
        np.testing.assert_allclose(pyfunc.predict(frames[order]), model.predict(matrices[order]), rtol=1e-6)

    executor = ThreadPoolExecutor(2)
    jobs = list(zip(models, orders, strict=True))

    def floor() -> None:
        pools = {o: Pool(m) for o, m in matrices.items()}
        list(executor.map(lambda job: job[0].predict(pools[job[1]], thread_count=1), jobs))

    def pyfunc_sequential() -> None:
        for pyfunc, order in zip(pyfuncs, orders, strict=True):
            pyfunc.predict(frames[order])

    def pyfunc_two_threads() -> None:
        list(executor.map(lambda job: job[0].predict(frames[job[1]]), zip(pyfuncs, orders, strict=True)))

    routes = {"floor": floor, "pyfunc sequential": pyfunc_sequential, "pyfunc 2 threads": pyfunc_two_threads}
    timings: dict[str, list[float]] = {name: [] for name in routes}
    for _ in range(repeats):
        for name, fn in routes.items():
            start = time.perf_counter()
            fn()
            timings[name].append((time.perf_counter() - start) * 1000)
    print(
        json.dumps(
            {
                "mlflow": mlflow.__version__,
                "catboost": catboost.__version__,
                "models": len(models),
                "rows": int(superset.shape[0]),
                "save_s": round(save_s, 2),
                "load_s": round(load_s, 3),
                "median_ms": {name: round(statistics.median(v), 2) for name, v in timings.items()},
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20)
