"""Training benchmark: time and peak memory to train one family on a full synthetic season.

Run: .venv/bin/python bench/bench_training.py [--family v12_noveg_q43] [--iterations 1000]

The path is the one ``modelctl retrain`` takes: season tables in a (temporary) DuckDB
registry, loaded back, features for the whole season, 1,000 CatBoost iterations on
two threads, evaluation, gates and the .cbm bytes with the card embedded. Upload and
registration are skipped (they cost milliseconds and would need a bucket). Memory is
the process's peak resident set (``ru_maxrss``), which includes Python, pandas and
CatBoost themselves; the figure before training is printed for comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.data.store import data_range, load_season, write_season  # noqa: E402
from common.data.synth import generate_season  # noqa: E402
from common.registry.naming import parse_family  # noqa: E402
from common.registry.service import RegistryService  # noqa: E402
from common.registry.store import RegistryStore  # noqa: E402
from common.training.request import TrainRequest  # noqa: E402
from common.training.trainer import lined_frame, train  # noqa: E402

EVAL_DAYS = 21


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--family", default="v12_noveg_q43")
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="200 iterations (`make bench-quick`)")
    args = parser.parse_args()
    if args.quick:
        args.iterations = 200
    timings: dict[str, float] = {}

    def timed(label: str, fn, *a):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        value = fn(*a)
        timings[label] = time.perf_counter() - began
        return value

    with tempfile.TemporaryDirectory() as tmp:
        store = RegistryStore.open(f"duckdb://{tmp}/registry.duckdb")
        store.migrate(RegistryService(store).clock())
        season = timed("generate season", generate_season, "2025-26", 7)
        timed("write season tables", write_season, store.engine, season)
        season = timed("load season tables", load_season, store.engine)
        span = data_range(store.engine)
        timed("features (whole season)", lined_frame, season)
        before = rss_mb()
        eval_start = span.last_date - timedelta(days=EVAL_DAYS - 1)
        request = TrainRequest.for_family(
            parse_family(args.family),
            name="bench",
            train_start=span.first_date,
            train_end=eval_start - timedelta(days=1),
            eval_start=eval_start,
            eval_end=span.last_date,
            use_production_lines=True,
            iterations=args.iterations,
        )
        result = timed("train + evaluate + gates + card", train, request, season)
    m = result.metrics
    print(f"family {request.family}, {args.iterations} iterations, {result.n_train} training rows, 2 threads")
    print(f"train {request.train_start}..{request.train_end}, eval {request.eval_start}..{request.eval_end}")
    for label, seconds in timings.items():
        print(f"  {label:<34} {seconds:7.2f} s")
    print(f"  {'total':<34} {sum(timings.values()):7.2f} s")
    print(f"peak RSS {peak_mb():.0f} MB (RSS {before:.0f} MB with the season and its features loaded)")
    size = len(result.model_bytes) / 1024
    print(f"model {size:.0f} KiB; MAE {m.mae:.2f}, edge-3+ {m.hit_rate_edge_3plus:.1f}% (n={m.n_edge_3plus})")


if __name__ == "__main__":
    main()
