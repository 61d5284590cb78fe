"""End-to-end predict path benchmark: `modelctl predict --date D` stage by stage, 1 and 4 seasons.

For each history size (1 season: 2025-26; 4 seasons: 2022-23 to 2025-26, as `modelctl data
generate --season S` adds them) a temporary DuckDB registry gets the seasons and two tiny models
(a v9 champion and a v12_noveg shadow, the demo's shape), and a fresh Python process runs the
command's stages in order, as `modelctl predict` does, inside one engine session, with the DuckDB
SQL that an earlier command kept (``SQL_CACHE_DIR``: one untimed-for-the-table first `modelctl
predict` fills it and is reported on its own):

  imports + parser   `common.cli.main.build_parser(["predict", ...])` and the settings
  slate read         `load_slate`: the rows the slate's features need, read with SQL (issue 22)
  features           `features_for` on them, kept as the worker's `Slate` (slate read + features
                     = `slate_features`, the slate-features figure)
  reload             a new `Worker` loading the serving set (model files cached after the first)
  scoring            `score_slate`, every model
  store              `store_predictions` (the date's rows replaced in one transaction)
  picks alert        `alert_champion_picks` (no Slack URL: recorded, not posted)
  acknowledge        `Worker.acknowledge` (one `worker_acks` row)

The first pass of that process is **cold** (imports paid where they first happen); the later
passes are **warm** (median). The 4-seasons / 1-season ratio of each stage is taken in the same run.
The slate-features ratio (the goal's) is also taken **interleaved**: one more fresh process opens
both registries and alternates their slate features (`load_slate` + `features_for`) pass by pass,
wall and CPU (``time.process_time``, DuckDB's threads included), so a load that changes between
the two timed processes above does not move it.
Then the slate features of a **500-player slate**: the generator's league has 30 teams (at most
~360 players on a date), so a third registry holds one season of two such leagues (the season and
a twin with its own teams, players and games) and its date nearest 500 listed players is timed the
same way. Last, the wall time of the real `modelctl predict --date D` as a fresh process (cold,
best of n).
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
STAGES = ("imports + parser", "slate read", "features", "reload", "scoring", "store", "picks alert", "acknowledge")
FEATURES = ("slate read", "features")  # the slate-features figure
SLATE_500 = 500
GOALS = {"features_500": 0.2, "ratio_4_1": 1.1, "modelctl_cold": 1.5}  # issue 22: seconds, ratio, seconds


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/bench_predict.py",
        description=__doc__.splitlines()[0],
        epilog="Full run: about a minute on 2 cores. `make bench` runs it with --quick.",
        allow_abbrev=False,
    )
    parser.add_argument("--quick", action="store_true", help="3 passes per process and one modelctl run")
    parser.add_argument("--passes", type=int, default=None, help="passes per process (default 8; --quick 3)")
    parser.add_argument(
        "--against",
        type=Path,
        default=None,
        metavar="TREE",
        help="also time `modelctl predict` of another checkout (e.g. /work/main), alternating",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # the timed fresh process
    parser.add_argument("--pair", nargs=2, default=None, help=argparse.SUPPRESS)  # the interleaved one: 2 URLs
    parser.add_argument("--date", type=date.fromisoformat, default=DAY, help=argparse.SUPPRESS)  # the child's
    return parser.parse_args(argv)


def load_average() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


# -- the timed process ----------------------------------------------------------------------------
def child(passes: int, day: date) -> None:
    """Time every stage ``passes`` times in this (fresh) process; one JSON line on stdout."""
    clock = time.perf_counter
    start = clock()
    from common.cli.main import build_parser
    from common.settings import Settings

    build_parser(["predict", "--date", day.isoformat()])
    settings = Settings.from_env()
    from common import sql_cache

    sql_cache.use(settings.sql_cache_dir)  # as `modelctl` does: the DuckDB SQL an earlier command kept
    times: dict[str, list[float]] = {name: [] for name in STAGES}
    times["imports + parser"].append(clock() - start)
    from common.sql import engine_session

    players = 0
    with engine_session(settings.registry_url):
        for _ in range(passes):
            players = one_pass(settings, times, clock, day)
    print(json.dumps({"times": times, "players": players}))


def one_pass(settings: Any, times: dict[str, list[float]], clock: Any, day: date) -> int:
    """The stages of one `modelctl predict --date day`, each timed with the imports it needs (paid
    on the cold pass only, by the stage that first needs them)."""

    def timed(name: str, fn: Any) -> Any:
        t = clock()
        value = fn()
        times[name].append(clock() - t)
        return value

    def read() -> Any:
        from common.data.slate import load_slate
        from common.sql import open_engine

        return load_slate(open_engine(settings.registry_url), day, settings.predict_lead_minutes)

    def features(data: Any) -> Any:
        from common.features import features_for
        from common.worker.slate import Slate

        return Slate.from_frame(features_for(data.inputs, data.targets, data.as_of))

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

        store_predictions(settings, day, rows, ids)

    def alert(serving: Any, rows: Any) -> None:
        from common.alerts.picks import alert_champion_picks
        from common.worker.scoring import champion_picks

        alert_champion_picks(settings, day, serving.champion, champion_picks(rows, serving.champion.model_id))

    data = timed("slate read", read)
    slate = timed("features", lambda: features(data))
    worker = timed("reload", reload)
    serving = worker.current
    rows = timed("scoring", lambda: score(serving, slate))
    timed("store", lambda: store(rows, [m.model_id for m in serving.models]))
    timed("picks alert", lambda: alert(serving, rows))
    timed("acknowledge", worker.acknowledge)
    return len(slate)


def pair_child(urls: list[str], passes: int, day: date) -> None:
    """Slate features of two registries (1 and 4 seasons) alternated pass by pass in this process,
    each pass timed in wall and CPU seconds; one JSON line on stdout."""
    from contextlib import ExitStack

    from common import sql_cache
    from common.data.slate import load_slate
    from common.features import features_for
    from common.settings import Settings
    from common.sql import engine_session, open_engine

    settings = Settings.from_env()
    sql_cache.use(settings.sql_cache_dir)
    engines = [open_engine(url) for url in urls]
    times: dict[str, list[list[float]]] = {"wall": [[], []], "cpu": [[], []]}
    with ExitStack() as stack:
        for url in urls:
            stack.enter_context(engine_session(url))
        for i in range(passes + 1):  # the first of each is cold, left out
            for k in (0, 1) if i % 2 else (1, 0):
                wall, cpu = time.perf_counter(), time.process_time()
                data = load_slate(engines[k], day, settings.predict_lead_minutes)
                features_for(data.inputs, data.targets, data.as_of)
                if i:
                    times["wall"][k].append(time.perf_counter() - wall)
                    times["cpu"][k].append(time.process_time() - cpu)
    print(json.dumps(times))


# -- the parent ---------------------------------------------------------------------------------
def twin_league(season: Any) -> Any:
    """``season`` and a copy of it with its own teams, players and games: a 60-team league."""
    import pandas as pd

    def twin(table: str, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        for column in ("team_id", "opponent_team_id", "home_team_id", "away_team_id"):
            if column in out:
                out[column] = "Z" + out[column].astype(str)
        if "game_id" in out:
            out["game_id"] = "9" + out["game_id"].astype(str).str[1:]
        if "player_id" in out:
            out["player_id"] = out["player_id"] + 50_000_000
        return pd.concat([frame, out], ignore_index=True)

    tables = ("teams", "players", "games", "player_games", "betting_lines", "betting_line_snapshots")
    return type(season)(season.season, **{t: twin(t, getattr(season, t)) for t in tables})


def slate_date(season: Any, players: int) -> date:
    """The date whose slate (listed, not ruled out) is nearest ``players``, from March on."""
    pg = season.player_games
    listed = pg[~pg["status"].isin(["injured", "rest"])]
    sizes = listed.groupby(listed["game_date"].dt.date).size()
    sizes = sizes[sizes.index >= date(int(season.season[:4]) + 1, 3, 1)]
    return (sizes - players).abs().idxmin()


def make_registry(folder: Path, seasons: tuple[str, ...], twin: bool = False) -> dict[str, str]:
    """A registry with ``seasons`` (the latest doubled into a 60-team league with ``twin``) and the
    two models; the environment a child process needs."""
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
        "SQL_CACHE_DIR": str(folder.parent / "sql-cache"),  # shared by the registries, like a user's
        "PYTHONPATH": str(ROOT),
    }
    env.pop("SLACK_WEBHOOK_URL", None)
    settings = Settings.from_env(env)
    models = {"champion": (tiny_card("v9"), 1), "shadow": (tiny_card("v12_noveg"), 2)}
    latest = generate_season(seasons[-1], seed=7)
    serving_registry(settings, twin_league(latest) if twin else latest, models)
    for i, name in enumerate(seasons[:-1]):
        write_season(open_engine(settings.registry_url), generate_season(name, seed=100 + i))
    return env


def run_child(env: dict[str, str], passes: int, day: date = DAY, *mode: str) -> dict[str, Any]:
    """A fresh timed process (``--child``, or ``--pair URL URL``): its JSON line."""
    args = [*(mode or ("--child",)), "--passes", str(passes), "--date", str(day)]
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"the timed process failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def timed_modelctl(env: dict[str, str]) -> tuple[float, float]:
    """One fresh `modelctl predict --date DAY` process: its wall time and CPU time (user + system)."""
    import resource

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    t, c = time.perf_counter(), cpu()
    out = subprocess.run(
        [str(Path(sys.executable).with_name("modelctl")), "predict", "--date", DAY.isoformat()],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"modelctl predict failed:\n{out.stderr}")
    return time.perf_counter() - t, cpu() - c


def modelctl_wall(env: dict[str, str], runs: int) -> float:
    """The best wall time of ``runs`` fresh `modelctl predict --date DAY` processes."""
    return min(timed_modelctl(env)[0] for _ in range(runs))


def against(env: dict[str, str], tree: Path, runs: int) -> None:
    """`modelctl predict` of this tree and of ``tree`` (another checkout, e.g. /work/main), alternating
    fresh processes on one registry: the before/after of a change in one run, wall and CPU."""
    trees = {"this tree": ROOT, str(tree): tree}
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for _ in range(runs):
        for name, root in trees.items():
            figures[name].append(timed_modelctl({**env, "PYTHONPATH": str(root)}))
    print(f"\n`modelctl predict --date {DAY}`, 1 season, {runs} alternating fresh processes each ({load_average()})")
    for name, runs_of in figures.items():
        wall, cpu = (statistics.median(x) for x in zip(*runs_of, strict=True))
        best = min(w for w, _ in runs_of)
        print(f"  {name:<24} wall median {wall:.2f} s (best {best:.2f} s), CPU median {cpu:.2f} s")


def first_modelctl(env: dict[str, str]) -> float:
    """The very first `modelctl predict` (no DuckDB SQL kept yet: it transpiles and keeps it), which
    the timed processes after it find, as a user's second command does."""
    shutil.rmtree(env["SQL_CACHE_DIR"], ignore_errors=True)
    return modelctl_wall(env, 1)


def slate_features_warm(result: dict[str, Any]) -> float:
    """Median over the warm passes of slate read + features (one pass's slate features)."""
    per_pass = [sum(result["times"][name][i] for name in FEATURES) for i in range(1, len(result["times"][FEATURES[0]]))]
    return statistics.median(per_pass)


def interleaved(pair: dict[str, list[list[float]]]) -> tuple[float, float]:
    """Print the interleaved slate features (median of each side, wall and CPU); both ratios."""
    (w1, w4), (c1, c4) = ([statistics.median(x) * 1000 for x in pair[k]] for k in ("wall", "cpu"))
    print(f"slate features interleaved in one process, {len(pair['wall'][0])} warm passes each, median: "
          f"1 season {w1:.0f} ms (CPU {c1:.0f} ms), 4 seasons {w4:.0f} ms (CPU {c4:.0f} ms): "
          f"{w4 / w1:.2f}x wall, {c4 / c1:.2f}x CPU")  # fmt: skip
    return w4 / w1, c4 / c1


def report(
    results: dict[int, dict[str, Any]],
    walls: dict[int, float],
    big: dict[str, Any],
    big_day: date,
    pair: dict[str, list[list[float]]],
) -> None:
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
    f1, f4, f500 = slate_features_warm(one), slate_features_warm(four), slate_features_warm(big)
    print(f"slate features (slate read + features), warm median: {one['players']} players {ms(f1)} ms "
          f"(1 season), {ms(f4)} ms (4 seasons); {big['players']} players ({big_day}, 60-team league) "
          f"{ms(f500)} ms (cold {ms(sum(big['times'][n][0] for n in FEATURES))} ms)")  # fmt: skip
    wall, cpu = interleaved(pair)
    rows = [
        (f"slate features, {big['players']} players, warm", f"{f500:.3f} s", GOALS["features_500"], f500),
        ("slate features, 4 seasons vs 1, warm (interleaved)", f"{wall:.2f}x", GOALS["ratio_4_1"], wall),
        ("  the same in CPU time (does not move with the load)", f"{cpu:.2f}x", GOALS["ratio_4_1"], cpu),
        ("`modelctl predict` one date, cold (1 season)", f"{walls[1]:.2f} s", GOALS["modelctl_cold"], walls[1]),
    ]
    print(f"\n{'metric':<52}{'measured':>10}{'goal':>8}  met")
    for name, shown, goal, value in rows:
        print(f"{name:<52}{shown:>10}{'<= ' + str(goal):>8}  {'yes' if value <= goal else 'no'}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    passes = args.passes or (3 if args.quick else 8)
    if args.child:
        child(passes, args.date)
        return
    if args.pair:
        pair_child(args.pair, passes, args.date)
        return
    from infra.local.processes import raise_on_termination

    raise_on_termination()  # SIGTERM / SIGHUP unwind through the finally below, as Ctrl-C does
    workdir = Path(tempfile.mkdtemp(prefix="bench-predict-"))
    try:
        envs = {}
        for n, seasons in (*SEASONS.items(), (SLATE_500, SEASONS[1])):
            folder = workdir / f"{n}-{'players' if n == SLATE_500 else 'seasons'}"
            folder.mkdir()
            t = time.perf_counter()
            envs[n] = make_registry(folder, seasons, twin=n == SLATE_500)
            print(f"{n} {'players: 1 season, 60 teams' if n == SLATE_500 else 'season(s)'} {seasons[0]}..{seasons[-1]} "
                  f"written, models registered: {time.perf_counter() - t:.1f} s")  # fmt: skip
        first = first_modelctl(envs[1])
        results = {n: run_child(envs[n], passes) for n in SEASONS}
        pair = run_child(envs[1], 2 * passes, DAY, "--pair", *(envs[n]["MODEL_REGISTRY_URL"] for n in SEASONS))
        from common.data.synth import generate_season

        big_day = slate_date(twin_league(generate_season(SEASONS[1][-1], seed=7)), SLATE_500)
        big = run_child(envs[SLATE_500], passes, big_day)
        runs = 1 if args.quick else 3
        walls = {n: modelctl_wall(envs[n], runs) for n in SEASONS}
        report(results, walls, big, big_day, pair)
        print(f"first `modelctl predict` (no SQL kept yet, SQL_CACHE_DIR empty), 1 season: {first:.2f} s")
        if args.against:
            against(envs[1], args.against.resolve(), 3 if args.quick else 8)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
