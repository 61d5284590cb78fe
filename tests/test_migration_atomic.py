"""Issue 19.2: a migration and its record are one unit; a migration re-applied loses nothing.

A real ``modelctl migrate`` process is stopped after statement K of a migration
(``tests/support/paused_migrate.py``) and killed with SIGKILL there; ``migrate`` is then run
again. On DuckDB the migration's statements and its schema_migrations row are one
transaction, so the kill leaves the migration unapplied and unrecorded. On BigQuery (the
emulator; DDL cannot join a transaction) the kill leaves it half-applied and unrecorded, and
the re-run must converge. In both, the scenario is the issue's: migration 012's record is gone
(deleted, or its process killed before the record) on a registry whose graded days carry
units, ROI and CLV — which the fixed column list of 012's old copy turned into NULL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.sql import migration_files, open_engine, split_statements
from tests.support.cli import modelctl_here
from tests.support.grading import registry_model, synthetic, write
from tests.support.migrated import migrated_store

ROOT = Path(__file__).resolve().parent.parent
MODELCTL = Path(sys.executable).with_name("modelctl")
MODELS = ("catboost_v9_mae_train1102_0131", "catboost_v12_mae_train1102_0131")
DAYS = (date(2026, 2, 10), date(2026, 2, 11), date(2026, 2, 12))
NOW = datetime(2026, 2, 13, 9, tzinfo=UTC)
SNAPSHOT = "SELECT * FROM model_performance_daily ORDER BY game_date, system_id"


def statements_of(version: int) -> list[str]:
    path = next(p for v, _, p in migration_files() if v == version)
    return split_statements(path.read_text())


def the_drop_in_012() -> int:
    """1-based position of 012's DROP of model_performance_daily: the worst place to die."""
    return 1 + next(
        i for i, s in enumerate(statements_of(12)) if s.upper() == "DROP TABLE IF EXISTS MODEL_PERFORMANCE_DAILY"
    )


def run(url: str, *args: str, module: str | None = None, **env: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", module, *args] if module else [str(MODELCTL), *args]
    environ = {**os.environ, "MODEL_REGISTRY_URL": url, "PYTHONPATH": str(ROOT), **env}
    return subprocess.Popen(argv, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def modelctl(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    process = run(url, *args)
    out, err = process.communicate(timeout=180)
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def kill_migrate_after(url: str, version: int, after: int, tmp_path: Path) -> None:
    """Run ``modelctl migrate``, and SIGKILL it once ``after`` statements of ``version`` have run."""
    marker = tmp_path / f"paused-{version}-{after}"
    env = {"PAUSE_MIGRATION": str(version), "PAUSE_AFTER": str(after), "PAUSE_MARKER": str(marker)}
    process = run(url, "migrate", module="tests.support.paused_migrate", **env)
    deadline = time.monotonic() + 180
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "migrate never reached the pause"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    process.communicate()


def graded_registry(url: str) -> list[dict[str, Any]]:
    """A migrated registry with two active models and three days graded by ``modelctl grade``."""
    store = migrated_store(url)
    registry = RegistryService(store, actor="pytest")
    for model_id in MODELS:
        registry_model(registry, model_id, train_end=date(2026, 1, 31))
    games, preds = synthetic(DAYS[0], len(DAYS), 20, {MODELS[0]: (2.0, "champion"), MODELS[1]: (4.0, "shadow")})
    write(store.engine, games, preds)
    graded = modelctl_here(
        "--registry-url", url, "grade", "--date", DAYS[0].isoformat(), "--to", DAYS[-1].isoformat(), "--no-advice"
    )
    assert graded.returncode == 0, graded.stderr
    snapshot = store.engine.query(SNAPSHOT)
    assert len(snapshot) == 6 and all(r["units"] is not None and r["n_bets"] > 0 for r in snapshot)
    return snapshot


def performance(url: str) -> dict[str, Any]:
    out = modelctl_here("--registry-url", url, "performance", "--json")
    assert out.returncode == 0, out.stderr
    return {m["model_id"]: m["figures"] for m in json.loads(out.stdout)["models"]}


def forget(url: str, version: int) -> None:
    open_engine(url).run_atomic([("DELETE FROM schema_migrations WHERE version = @v", {"v": version})])


@pytest.mark.slow
def test_migrate_killed_inside_012_then_rerun_loses_no_figure(
    engine_url: str, store: RegistryStore, tmp_path: Path
) -> None:
    """``store``: the registry migrated (on the emulator, a copy of the session's template)."""
    before = graded_registry(engine_url)
    figures = performance(engine_url)
    assert all(f["units"] is not None and f["roi"] is not None for f in figures.values())
    forget(engine_url, 12)  # as after a kill between the migration and its record (the repro)
    kill_migrate_after(engine_url, 12, the_drop_in_012(), tmp_path)
    applied = RegistryStore.open(engine_url).applied_versions()
    assert 12 not in applied  # never recorded without all of its statements
    if engine_url.startswith("duckdb"):  # one transaction: rolled back whole by the kill
        assert open_engine(engine_url).query(SNAPSHOT) == before
    rerun = modelctl(engine_url, "migrate")
    assert rerun.returncode == 0, rerun.stderr
    assert 12 in RegistryStore.open(engine_url).applied_versions()
    assert open_engine(engine_url).query(SNAPSHOT) == before  # units, ROI and CLV kept, every row
    assert performance(engine_url) == figures
    again = modelctl_here("--registry-url", engine_url, "migrate")  # once more, then the record deleted again
    assert again.returncode == 0, again.stderr
    forget(engine_url, 12)
    assert modelctl_here("--registry-url", engine_url, "migrate").returncode == 0  # still nothing lost
    assert open_engine(engine_url).query(SNAPSHOT) == before


def test_a_kill_inside_a_first_migrate_leaves_that_migration_unapplied_and_unrecorded(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'registry.duckdb'}"
    kill_migrate_after(url, 5, 1, tmp_path)  # 005 creates the notifications table, then is killed
    assert RegistryStore.open(url).applied_versions() == {1, 2, 3, 4}
    with duckdb.connect(str(tmp_path / "registry.duckdb"), read_only=True) as con:
        tables = {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "notifications" not in tables and "model_registry_rejections" in tables
    rerun = modelctl(url, "migrate")
    assert rerun.returncode == 0, rerun.stderr
    RegistryStore.open(url).require_current_schema()


def test_unknown_figures_print_as_unknown_never_zero(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'registry.duckdb'}"
    graded_registry(url)
    open_engine(url).run_atomic(  # a day graded before 012 (and not regraded since) has no betting value
        [("UPDATE model_performance_daily SET units = NULL, roi = NULL, n_clv = NULL, clv = NULL "
          "WHERE game_date = @d AND system_id = @m", {"d": DAYS[0], "m": MODELS[0]})]
    )  # fmt: skip
    figures = performance(url)
    assert figures[MODELS[0]]["units"] is None and figures[MODELS[0]]["roi"] is None
    known = [r for r in open_engine(url).query(SNAPSHOT) if r["system_id"] == MODELS[1]]
    assert figures[MODELS[1]]["units"] == pytest.approx(sum(r["units"] for r in known))
    table = modelctl(url, "performance")
    assert table.returncode == 0, table.stderr
    # the table folds a row over several lines: the model's row is its lines up to the next model's
    lines = table.stdout.splitlines()
    start = next(i for i, row in enumerate(lines) if row.startswith("│ " + MODELS[0][:8]) and "v9" in row)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(("│ catboost", "└"))), len(lines))
    line = " ".join(lines[start:end])
    assert line.count("unknown") >= 2 and "+0.00" not in line and "+0.000" not in line, table.stdout


def test_every_migration_runs_again_after_its_record_is_lost(engine_url: str) -> None:
    """Each migration's record deleted in turn and ``migrate`` run again: it applies cleanly, and
    the registry still passes the schema check (a re-run on BigQuery is the only recovery)."""
    store = RegistryStore.open(engine_url)
    store.migrate(NOW)
    for version in (12, 13, 14):
        forget(engine_url, version)
        assert store.migrate(NOW) == [next(n for v, n, _ in migration_files() if v == version)]
    store.require_current_schema()


def test_a_statement_the_schema_cannot_take_is_not_called_transient(tmp_path: Path) -> None:
    """010's record lost after 016 added columns: its copy-back no longer fits the table. DuckDB's
    Binder error was 'failed: … exit 6' (transient: retry), though a retry fails the same way."""
    url = f"duckdb://{tmp_path / 'registry.duckdb'}"
    RegistryStore.open(url).migrate(NOW)
    forget(url, 10)

    out = modelctl(url, "migrate")

    assert out.returncode == 5, out.stderr  # a ConfigError, as BigQuery's BadRequest is
    assert "rejected a statement" in out.stderr and "Binder Error" in out.stderr, out.stderr
    store = RegistryStore.open(url)
    assert 10 not in store.applied_versions()  # rolled back with its record: nothing half-applied
    query = "SELECT column_name FROM information_schema.columns WHERE table_name = 'player_prop_predictions'"
    with duckdb.connect(str(tmp_path / "registry.duckdb"), read_only=True) as con:
        columns = {name for (name,) in con.execute(query).fetchall()}
    assert {"as_of", "over_price"} <= columns  # 016's columns are still there
