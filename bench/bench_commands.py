"""The README's "Try it by hand" commands on the embedded default: DuckDB connections opened and
CPU seconds per command, with each short command sharing one registry connection
(``ONE_CONNECTION`` in ``common/cli/extensions.py``) against the same commands opening the file
per operation (the set emptied), in one run. Then a dashboard page the same two ways, and
``modelctl migrate`` on a new file with its statements split by sqlglot against read from the
cache.

Every command runs in this process through ``common.cli.main.main`` (imports paid once, so the
figures are the commands' own work). Opening a DuckDB file builds a database instance: DuckDB
registers its built-in functions per instance (~12-20 ms, even for ``:memory:``).

Command: ``.venv/bin/python bench/bench_commands.py`` (``--quick``: 20 training iterations).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from common import runtime  # noqa: E402
from common.cli import extensions  # noqa: E402
from common.cli import main as cli_main  # noqa: E402
from common.cli.main import main as modelctl  # noqa: E402

MODEL = "catboost_v9_mae_train1101_0131"
OPENED = [0]
_connect = duckdb.connect


def counting_connect(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
    OPENED[0] += 1
    return _connect(*args, **kwargs)  # type: ignore[arg-type]


def commands(iterations: int) -> list[list[str]]:
    window = ["--train-start", "2025-11-01", "--train-end", "2026-01-31", "--eval-start", "2026-02-01",
              "--eval-end", "2026-02-21"]  # fmt: skip
    return [
        ["migrate"],
        ["data", "generate", "--season", "2025-26", "--seed", "7"],
        ["train", "--name", "first", "--feature-set", "v9", *window, "--iterations", str(iterations)],
        ["enable", MODEL],
        ["promote", MODEL, "--reason", "first champion: no verdict needed"],
        ["predict", "--date", "2026-02-20"],
        ["grade", "--date", "2026-02-20"],
        ["performance"],
        ["list"],
        ["history", MODEL],
    ]


@contextlib.contextmanager
def sandbox(name: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"bench-commands-{name}-") as tmp:
        folder = Path(tmp)
        os.environ.update(
            MODEL_REGISTRY_URL=f"duckdb://{folder / 'registry.duckdb'}",
            MODEL_BUCKET_URL=f"file://{folder / 'bucket'}",
            MODEL_CACHE_DIR=str(folder / "cache"),
            SQL_CACHE_DIR=str(folder / "sql"),
            MODELCTL_ACTOR="bench",
        )
        runtime.reset()
        yield folder


def run(argv: list[str]) -> tuple[int, float]:
    """(DuckDB connections opened, CPU seconds) of one command, its output swallowed."""
    OPENED[0] = 0
    started = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = modelctl(argv)
    if code != 0:
        raise SystemExit(f"modelctl {' '.join(argv)} exited {code}")
    return OPENED[0], time.process_time() - started


def lifecycle(iterations: int, shared: bool) -> list[tuple[str, int, float]]:
    extensions.ONE_CONNECTION = ONE if shared else frozenset()
    cli_main.ONE_CONNECTION = extensions.ONE_CONNECTION
    with sandbox("shared" if shared else "per-operation"):
        return [(" ".join(argv[:2]) if argv[0] == "data" else argv[0], *run(argv)) for argv in commands(iterations)]


def dashboard_page(shared: bool, repeats: int) -> tuple[int, float]:
    """The home page ``repeats`` times through ``modelctl dashboard``'s app on the last sandbox."""
    from common.dashboard import web
    from common.settings import Settings

    settings = Settings.from_env()
    app = web.make_app(settings).test_client()
    real = web.engine_session
    if not shared:
        web.engine_session = lambda url: contextlib.nullcontext()  # type: ignore[assignment]
    try:
        app.get("/")  # warm: templates, imports
        OPENED[0] = 0
        started = time.process_time()
        for _ in range(repeats):
            assert app.get("/").status_code == 200
        return OPENED[0] // repeats, (time.process_time() - started) / repeats
    finally:
        web.engine_session = real


MIGRATE = """
import sys
from common import sql, sql_cache
if sys.argv[1] == "parse":  # the migration files split by sqlglot, as before they were cached
    real = sql_cache.get
    sql_cache.get = lambda key: None if key.startswith(sql._SPLIT) else real(key)
from common.cli.main import main
sys.exit(main(["migrate"]))
"""


def migrate_process(mode: str, folder: Path, n: int) -> float:
    """CPU seconds of a ``modelctl migrate`` process on a new file, its SQL cache warm (median of n)."""
    import resource
    import statistics
    import subprocess

    seconds = []
    for i in range(n):
        env = {**os.environ, "MODEL_REGISTRY_URL": f"duckdb://{folder / f'{mode}-{i}.duckdb'}",
               "SQL_CACHE_DIR": str(folder / "sql"), "PYTHONPATH": str(ROOT)}  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", MIGRATE, mode], env=env, check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(seconds)


ONE = extensions.ONE_CONNECTION


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help="20 training iterations instead of 100")
    args = parser.parse_args()
    duckdb.connect = counting_connect  # type: ignore[assignment]
    cli_main.setup_logging = lambda *a, **k: None  # type: ignore[assignment]
    iterations = 20 if args.quick else 100
    lifecycle(iterations, True)  # warm-up: imports, the SQL translations, CatBoost
    before = lifecycle(iterations, False)
    after = lifecycle(iterations, True)
    print(f"{'command':<22}{'opens before':>13}{'opens after':>12}{'CPU s before':>14}{'CPU s after':>13}{'ratio':>7}")
    for (name, o0, c0), (_, o1, c1) in zip(before, after, strict=True):
        print(f"{name:<22}{o0:>13}{o1:>12}{c0:>14.3f}{c1:>13.3f}{c1 / c0:>7.2f}")
    total0, total1 = sum(c for *_, c in before), sum(c for *_, c in after)
    print(f"{'all':<22}{sum(o for _, o, _ in before):>13}{sum(o for _, o, _ in after):>12}"
          f"{total0:>14.3f}{total1:>13.3f}{total1 / total0:>7.2f}")  # fmt: skip
    with sandbox("dashboard"):
        for argv in commands(iterations)[:7]:
            run(argv)
        (o0, c0), (o1, c1) = dashboard_page(False, 5), dashboard_page(True, 5)
    print(f"dashboard home page: {o0} -> {o1} opens, {c0:.3f} -> {c1:.3f} CPU s ({c1 / c0:.2f}x)")
    with sandbox("migrate") as folder:
        migrate_process("cached", folder, 1)  # fills the SQL cache, as any earlier `modelctl` does
        parse, cached = migrate_process("parse", folder, 3), migrate_process("cached", folder, 3)
    print(f"modelctl migrate (a process, new file, SQL cache warm): {parse:.2f} CPU s with the migration files"
          f" parsed by sqlglot -> {cached:.2f} s with their statements cached ({cached / parse:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
