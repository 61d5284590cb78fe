"""The home page's verdicts: one ``compare_models`` per challenger (2 queries each, the page before)
against ``compare_all`` (2 queries for all of them, ``common/grading/analysis.py``), and the whole
home page through the dashboard function's app, on a graded DuckDB registry with a champion and
``--challengers`` challengers. Both ways are checked to give the same verdicts and evidence.

Command: ``.venv/bin/python bench/bench_dashboard.py`` (``--quick``: 3 challengers, 20 days).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.grading.analysis import compare_all, compare_models  # noqa: E402
from common.grading.catalog import load_catalog  # noqa: E402
from common.grading.compare import VerdictRule  # noqa: E402
from common.grading.service import grade_dates  # noqa: E402
from common.grading.store import GradingStore  # noqa: E402
from common.registry.service import RegistryService  # noqa: E402
from common.registry.store import RegistryStore  # noqa: E402
from common.sql import open_engine  # noqa: E402
from tests.support.grading import registry_model, synthetic, write  # noqa: E402

FIRST = date(2026, 1, 1)
CHAMPION = "catboost_v9_mae_train1102_0215"


def build(path: Path, challengers: int, days: int, players: int) -> tuple[str, list[str]]:
    url = f"duckdb://{path}"
    store = RegistryStore.open(url)
    store.migrate(RegistryService(store).clock())
    registry = RegistryService(store, actor="bench")
    ids = [f"catboost_v{9 + i}_mae_train1102_{1201 + i:04d}" for i in range(challengers)]
    noise = {CHAMPION: (4.0, "champion"), **{m: (3.0 + 0.1 * i, "shadow") for i, m in enumerate(ids)}}
    games, preds = synthetic(FIRST, days, players, noise, seed=11)
    engine = open_engine(url)
    write(engine, games, preds)
    registry_model(registry, CHAMPION, train_end=date(2025, 12, 1))
    registry.promote(CHAMPION)
    for i, m in enumerate(ids):
        registry_model(registry, m, train_end=date(2025, 12, 1) + timedelta(days=i))
    catalog = load_catalog(registry.list)
    grade_dates(GradingStore(engine), catalog, [FIRST + timedelta(days=d) for d in range(days)], datetime.now(UTC))
    return url, ids


def best(fn: Any, repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 challengers, 20 days, 2 repeats")
    parser.add_argument("--challengers", type=int, default=10)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    challengers, days, repeats = (3, 20, 2) if args.quick else (args.challengers, args.days, 5)
    with tempfile.TemporaryDirectory() as tmp:
        url, ids = build(Path(tmp) / "registry.duckdb", challengers, days, 100)
        registry = RegistryService(RegistryStore.open(url))
        catalog, rule = load_catalog(registry.list), VerdictRule()

        def one_by_one() -> dict[str, Any]:
            store = GradingStore(open_engine(url))  # a fresh store per page: nothing cached across pages
            return {m: compare_models(store, catalog, m, None, None, rule) for m in ids}

        def batched() -> dict[str, Any]:
            return compare_all(GradingStore(open_engine(url)), catalog, rule)

        t_old, old = best(one_by_one, repeats)
        t_new, new = best(batched, repeats)
        assert old == new, "the batched verdicts differ from compare_models"
        os.environ.update({"MODEL_REGISTRY_URL": url, "MODEL_BUCKET_URL": f"file://{tmp}/bucket"})
        from functions_framework import create_app

        client = create_app("dashboard", str(ROOT / "functions" / "dashboard" / "main.py"), "http").test_client()
        client.get("/")  # warm
        t_page, response = best(lambda: client.get("/"), repeats)
        assert response.status_code == 200
    print(f"{challengers} challengers, {days} graded days x 100 player-games, best of {repeats}; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"  verdicts one by one (2 queries each, {2 * challengers})  {t_old * 1000:8.0f} ms")
    print(f"  verdicts batched (2 queries)                 {t_new * 1000:8.0f} ms   ({t_old / t_new:.1f}x faster)")
    print(f"  whole home page, warm                        {t_page * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
