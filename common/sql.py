"""The SQL engines: one BigQuery-dialect source, run on DuckDB or BigQuery.

Every query and migration in this project is written once, in BigQuery SQL with
named ``@parameters``. ``DuckDBEngine`` transpiles it with sqlglot, so the
embedded default runs production's SQL; ``BigQueryEngine`` sends it as written.

An engine offers three primitives, and nothing else:

* ``query(sql, params)`` → list of row dicts;
* ``run_atomic([(sql, params), ...])`` → all statements or none; a guard
  statement ``SELECT IF(cond, 0, ERROR('conflict: ...'))`` aborts the unit;
* ``apply_migration(version, name, statements, record)`` → DDL/DML of one migration file and its
  schema_migrations row, atomically where the engine allows;
* ``write_frame(table, frame, delete)`` / ``query_frame(sql, params)`` → bulk rows in and
  out as pandas DataFrames (season data, predictions, grades). ``delete`` is a complete
  ``DELETE FROM <table> …`` statement with its parameters, taken from a ``queries``
  module: the engine never assembles SQL from a caller's fragments.

Engines are chosen by URL scheme and imported lazily, so a process that never
touches BigQuery does not pay for importing its client.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from common import sql_cache
from common.backends import load_backend
from common.errors import InvalidArgument

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

ENGINES: dict[str, str] = {
    "duckdb": "common.sql_duckdb:DuckDBEngine",
    "bigquery": "common.sql_bigquery:BigQueryEngine",
}

# ERROR('conflict: ...') raised by a guard statement surfaces with this prefix.
GUARD_PREFIX = "conflict: "
_PARAM = re.compile(r"@(\w+)")


@dataclass(frozen=True)
class Param:
    """A query parameter with an explicit BigQuery type (needed for NULLs)."""

    value: Any
    type: str


Params = dict[str, Any]
Statement = tuple[str, Params]


class Engine(Protocol):
    """What every SQL engine implements."""

    url: str

    def query(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]: ...

    def run_atomic(self, statements: Sequence[Statement]) -> None: ...

    def apply_migration(
        self, version: int, name: str, statements: Sequence[str], record: Statement | None = None
    ) -> None:
        """Apply one migration file's statements and write its ``record`` (schema_migrations row):
        in one transaction where the engine allows DDL in one (DuckDB); otherwise the record last."""
        ...

    def write_frame(self, table: str, frame: Any, delete: Statement) -> None:
        """Run ``delete`` (a complete ``DELETE FROM table …``) and insert ``frame``, atomically."""
        ...

    def query_frame(self, sql: str, params: Params | None = None) -> Any: ...

    def close(self) -> None: ...


def open_engine(url: str) -> Engine:
    """Open the engine for ``url``: ``duckdb:///path`` or ``bigquery://project/dataset``."""
    return load_backend(url, ENGINES, "MODEL_REGISTRY_URL")  # type: ignore[no-any-return]


@contextmanager
def engine_session(url: str) -> Iterator[None]:
    """One engine connection for every operation inside (a command, a request) on engines that
    otherwise open one per operation (DuckDB); on the others nothing changes."""
    session = getattr(open_engine(url), "session", None)
    if session is None:
        yield
        return
    with session():
        yield


def check_delete(table: str, delete: Statement) -> None:
    """``write_frame``'s contract: the statement is a DELETE on the table the frame goes to."""
    words = delete[0].split(None, 3)
    if [w.upper() for w in words[:2]] != ["DELETE", "FROM"] or len(words) < 3 or words[2] != table:
        raise InvalidArgument(f"write_frame({table!r}) needs a DELETE FROM {table} statement, got {delete[0][:60]!r}")


def infer_type(value: Any) -> str:
    """The BigQuery type of a Python value (``Param`` carries it explicitly)."""
    if isinstance(value, Param):
        return value.type
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, (list, tuple)):
        return "ARRAY"
    return "STRING"


def plain(value: Any) -> Any:
    """Unwrap a ``Param`` to its value."""
    return value.value if isinstance(value, Param) else value


def merge_statements(statements: Sequence[Statement]) -> tuple[list[str], Params]:
    """Give each statement's parameters unique names so they can share one script."""
    merged: Params = {}
    texts = []
    for index, (sql, params) in enumerate(statements):
        prefix = f"s{index}_"
        texts.append(_PARAM.sub(_renamer(prefix, set(params)), sql))
        merged.update({prefix + k: v for k, v in params.items()})
    return texts, merged


def _renamer(prefix: str, names: set[str]) -> Any:
    def rename(match: re.Match[str]) -> str:
        return f"@{prefix}{match.group(1)}" if match.group(1) in names else match.group(0)

    return rename


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, str, Path]]:
    """The numbered ``NNN_name.sql`` files, in order."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        head = path.name.split("_", 1)[0]
        if head.isdigit():
            found.append((int(head), path.stem, path))
    return found


def split_statements(text: str) -> list[str]:
    """Split a migration file into statements (comments dropped, order kept).

    Kept in memory and in ``SQL_CACHE_DIR`` as the DuckDB translations are (``common.sql_cache``):
    parsing every migration file with sqlglot was 0.5 s of ``modelctl migrate``'s 0.6-1 s, also
    when there is nothing to apply.
    """
    return list(_split(text))


_SPLIT = "-- split_statements\0"  # the cache key's prefix: a split is not a translation


@lru_cache(maxsize=64)
def _split(text: str) -> tuple[str, ...]:
    stored = sql_cache.get(_SPLIT + text)
    if stored is not None:
        return tuple(stored.split("\0")) if stored else ()
    import sqlglot

    statements = tuple(s.sql(dialect="bigquery") for s in sqlglot.parse(text, read="bigquery") if s is not None)
    sql_cache.put(_SPLIT + text, "\0".join(statements))
    return statements


def latest_migration_version(directory: Path = MIGRATIONS_DIR) -> int:
    files = migration_files(directory)
    return files[-1][0] if files else 0


def qualify_view(statement: str, project: str, dataset: str) -> str:
    """A ``CREATE VIEW`` with every table name qualified as ``project.dataset.table``; other
    statements unchanged. BigQuery resolves a view body without the default dataset."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.qualify_tables import qualify_tables

    parsed = sqlglot.parse_one(statement, read="bigquery")
    if not isinstance(parsed, exp.Create) or str(parsed.args.get("kind", "")).upper() != "VIEW":
        return statement
    return qualify_tables(parsed, db=dataset, catalog=project).sql(dialect="bigquery")
