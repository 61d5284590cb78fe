"""The DuckDB SQL kept between processes (``SQL_CACHE_DIR``, common/sql_cache.py): what a later
process reads is what sqlglot gave, a file that is torn or edited is a miss and is written again,
and a folder that cannot be used costs the translation, never the statement."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common import sql_cache
from common.alerts import queries as alert_queries
from common.registry import queries as registry_queries
from common.sql_duckdb import transpile
from common.worker import queries as worker_queries

ROOT = Path(__file__).resolve().parent.parent
MODULES = (worker_queries, alert_queries, registry_queries)
STATEMENTS = [v for m in MODULES for v in vars(m).values() if isinstance(v, str) and "SELECT" in v]

# a fresh process: translate (or read) every statement, say whether sqlglot had to be imported
PROBE = """
import json, sys
from common import sql_cache
from common.sql_duckdb import transpile
sql_cache.use(sys.argv[1])
out = [transpile(s) for s in json.loads(sys.stdin.read())]
print(json.dumps({"sqlglot": "sqlglot" in sys.modules, "out": out}))
"""


def fresh_process(folder: Path, statements: list[str]) -> dict[str, object]:
    import json

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder)], input=json.dumps(statements),
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def uncached(sql: str) -> str:
    sql_cache.use(None)
    transpile.cache_clear()
    return transpile(sql)


def test_a_later_process_reads_what_sqlglot_gave_without_importing_it(tmp_path: Path) -> None:
    assert len(STATEMENTS) >= 10
    first = fresh_process(tmp_path, STATEMENTS)
    assert first["sqlglot"] is True and len(list(tmp_path.glob("*.sql"))) == len(set(STATEMENTS))
    later = fresh_process(tmp_path, STATEMENTS)
    assert later["sqlglot"] is False
    assert later["out"] == first["out"] == [uncached(s) for s in STATEMENTS]


@pytest.mark.parametrize("damage", ["torn", "edited", "empty"])
def test_a_damaged_file_is_a_miss_and_is_written_again(tmp_path: Path, damage: str) -> None:
    sql = STATEMENTS[0]
    sql_cache.use(tmp_path)
    transpile.cache_clear()
    good = transpile(sql)
    [path] = tmp_path.glob("*.sql")
    whole = path.read_text()
    damaged = {"torn": whole[: len(whole) // 2], "edited": whole.replace("SELECT", "DELETE", 1), "empty": ""}
    path.write_text(damaged[damage])
    transpile.cache_clear()
    assert sql_cache.get(sql) is None
    assert transpile(sql) == good
    assert path.read_text() == whole


def test_a_folder_that_cannot_be_used_costs_only_the_translation(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    sql_cache.use(blocker / "sql")
    transpile.cache_clear()
    assert transpile(STATEMENTS[0]) == uncached(STATEMENTS[0])
    assert blocker.read_text() == "a file where the cache folder should be"


def test_none_keeps_the_sql_in_memory_only(tmp_path: Path) -> None:
    for off in (None, "", "none", "NONE"):
        sql_cache.use(off)
        transpile.cache_clear()
        transpile(STATEMENTS[1])
        sql_cache.put(STATEMENTS[1], "SELECT 1")
        assert sql_cache.get(STATEMENTS[1]) is None
    assert list(tmp_path.iterdir()) == []
