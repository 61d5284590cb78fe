"""End-to-end predict path benchmark: `modelctl predict --date D` stage by stage, 1 and 4 seasons.

For each history size (1 season: 2025-26; 4 seasons: 2022-23 to 2025-26, as `modelctl data
generate --season S` adds them) a temporary DuckDB registry gets the seasons and two tiny models
(a v9 champion and a v12_noveg shadow, the demo's shape), and a fresh Python process runs the
command's stages in order, as `modelctl predict` does, inside one engine session:

  imports + parser   `common.cli.main.build_parser(["predict", ...])` and the settings
  season load        `load_season` (every season table)
  features           `slate_features` for the date (the slate, its as-of moment, the features)
  reload             a new `Worker` loading the serving set (model files cached after the first)
  scoring            `score_slate`, every model
  store              `store_predictions` (the date's rows replaced in one transaction)
  picks alert        `alert_champion_picks` (no Slack URL: recorded, not posted)
  acknowledge        `Worker.acknowledge` (one `worker_acks` row)

The first pass of that process is **cold** (imports paid where they first happen); the later
passes are **warm** (median). The 4-seasons / 1-season ratio of each stage is taken in the same run.
Last, the wall time of the real `modelctl predict --date D` as a fresh process (cold, best of n).
Its temporary folder is removed on every way out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = date(2026, 3, 18)  # a Wednesday late in 2025-26: most of a season of history before it
SEASONS = {1: ("2025-26",), 4: ("2022-23", "2023-24", "2024-25", "2025-26")}
STAGES = ("imports + parser", "season load", "features", "reload", "scoring", "store", "picks alert", "acknowledge")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/bench_predict.py",
        description=__doc__.splitlines()[0],
        epilog="Full run: about a minute on 2 cores. `make bench` runs it with --quick.",
        allow_abbrev=False,
    )
    parser.add_argument("--quick", action="store_true", help="3 passes per process and one modelctl run")
    parser.add_argument("--passes", type=int, default=None, help="passes per process (default 8; --quick 3)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # the timed fresh process
    return parser.parse_args(argv)


def load_average() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


# -- the timed process ----------------------------------------------------------------------------
def child(passes: int) -> None:
    """Time every stage ``passes`` times in this (fresh) process; one JSON line on stdout."""
    clock = time.perf_counter
    start = clock()
    from common.cli.main import build_parser
    from common.settings import Settings

    build_parser(["predict", "--date", DAY.isoformat()])
    settings = Settings.from_env()
    times: dict[str, list[float]] = {name: [] for name in STAGES}
    times["imports + parser"].append(clock() - start)
    from common.sql import engine_session

    players = 0
    with engine_session(settings.registry_url):
        for _ in range(passes):
            players = one_pass(settings, times, clock)
    print(json.dumps({"times": times, "players": players}))


def one_pass(settings: Any, times: dict[str, list[float]], clock: Any) -> int:
    """The stages of one `modelctl predict --date DAY`, each timed with the imports it needs (paid
    on the cold pass only, by the stage that first needs them)."""

    def timed(name: str, fn: Any) -> Any:
        t = clock()
        value = fn()
        times[name].append(clock() - t)
        return value

    def season() -> Any:
        from common.data.store import load_season
        from common.sql import open_engine

        return load_season(open_engine(settings.registry_url))

    def features(data: Any) -> Any:
        from common.worker.predictions import slate_features

        return slate_features(settings, DAY, season=data)

    def reload() -> Any:
        from common.worker.worker import Worker

        worker = Worker(settings, worker_id="bench-predict", fuse=False)
        worker.reload(acknowledge=False)
        return worker

    def score(serving: Any, slate: Any) -> Any:
        from common.worker.scoring import score_slate

        return score_slate(serving, slate)

    def store(rows: Any, ids: list[str]) -> None:
        from common.worker.predictions import store_predictions

        store_predictions(settings, DAY, rows, ids)

    def alert(serving: Any, rows: Any) -> None:
        from common.alerts.picks import alert_champion_picks
        from common.worker.scoring import champion_picks

        alert_champion_picks(settings, DAY, serving.champion, champion_picks(rows, serving.champion.model_id))

    data = timed("season load", season)
    slate = timed("features", lambda: features(data))
    worker = timed("reload", reload)
    serving = worker.current
    rows = timed("scoring", lambda: score(serving, slate))
    timed("store", lambda: store(rows, [m.model_id for m in serving.models]))
    timed("picks alert", lambda: alert(serving, rows))
    timed("acknowledge", worker.acknowledge)
    return len(slate)


# -- the parent ---------------------------------------------------------------------------------
def make_registry(folder: Path, seasons: tuple[str, ...]) -> dict[str, str]:
    """A registry with ``seasons`` and the two models; the environment a child process needs."""
    from common.data.store import write_season
    from common.data.synth import generate_season
    from common.settings import Settings
    from common.sql import open_engine
    from tests.support.serving import serving_registry
    from tests.support.tiny import tiny_card

    env = {
        **os.environ,
        "MODEL_REGISTRY_URL": f"duckdb://{folder / 'registry.duckdb'}",
        "MODEL_BUCKET_URL": f"file://{folder / 'bucket'}",
        "MODEL_CACHE_DIR": str(folder / "cache"),
        "MODELCTL_ACTOR": "bench",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("SLACK_WEBHOOK_URL", None)
    settings = Settings.from_env(env)
    models = {"champion": (tiny_card("v9"), 1), "shadow": (tiny_card("v12_noveg"), 2)}
    serving_registry(settings, generate_season(seasons[-1], seed=7), models)
    for i, name in enumerate(seasons[:-1]):
        write_season(open_engine(settings.registry_url), generate_season(name, seed=100 + i))
    return env


def run_child(env: dict[str, str], passes: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", "--passes", str(passes)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"the timed process failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def modelctl_wall(env: dict[str, str], runs: int) -> float:
    """The best wall time of ``runs`` fresh `modelctl predict --date DAY` processes."""
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(
            [str(Path(sys.executable).with_name("modelctl")), "predict", "--date", DAY.isoformat()],
            env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        best = min(best, time.perf_counter() - t)
        if out.returncode != 0:
            raise SystemExit(f"modelctl predict failed:\n{out.stderr}")
    return best


def report(results: dict[int, dict[str, Any]], walls: dict[int, float]) -> None:
    def warm(r: dict[str, Any], name: str) -> float | None:
        later = r["times"][name][1:]
        return statistics.median(later) if later else None

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f}"

    one, four = results[1], results[4]
    print(f"\npredict {DAY}: {one['players']} players, 2 models; milliseconds ({load_average()})")
    print(f"{'stage':<18}{'1 cold':>9}{'1 warm':>9}{'4 cold':>9}{'4 warm':>9}{'4/1 warm':>10}")
    totals = {k: [0.0, 0.0] for k in (1, 4)}
    for name in STAGES:
        row = []
        for n in (1, 4):
            cold, hot = results[n]["times"][name][0], warm(results[n], name)
            totals[n][0] += cold
            totals[n][1] += hot or 0.0
            row += [ms(cold), ms(hot)]
        w1, w4 = warm(one, name), warm(four, name)
        ratio = f"{w4 / w1:.2f}x" if w1 and w4 else "-"
        print(f"{name:<18}{row[0]:>9}{row[1]:>9}{row[2]:>9}{row[3]:>9}{ratio:>10}")
    t1, t4 = totals[1], totals[4]
    print(f"{'sum':<18}{ms(t1[0]):>9}{ms(t1[1]):>9}{ms(t4[0]):>9}{ms(t4[1]):>9}{t4[1] / t1[1]:>9.2f}x")
    print(f"`modelctl predict --date {DAY}`, fresh process, wall (best): "
          f"1 season {walls[1]:.2f} s, 4 seasons {walls[4]:.2f} s ({walls[4] / walls[1]:.2f}x)")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    passes = args.passes or (3 if args.quick else 8)
    if args.child:
        child(passes)
        return
    from infra.local.processes import raise_on_termination

    raise_on_termination()  # SIGTERM / SIGHUP unwind through the finally below, as Ctrl-C does
    workdir = Path(tempfile.mkdtemp(prefix="bench-predict-"))
    try:
        envs = {}
        for n, seasons in SEASONS.items():
            folder = workdir / f"{n}-seasons"
            folder.mkdir()
            t = time.perf_counter()
            envs[n] = make_registry(folder, seasons)
            print(f"{n} season(s) {seasons[0]}..{seasons[-1]} written, models registered: "
                  f"{time.perf_counter() - t:.1f} s")  # fmt: skip
        results = {n: run_child(env, passes) for n, env in envs.items()}
        runs = 1 if args.quick else 3
        walls = {n: modelctl_wall(envs[n], runs) for n in envs}
        report(results, walls)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
