"""The embedded engine: BigQuery SQL transpiled by sqlglot, run on a DuckDB file.

A connection is opened per operation and closed straight after, because DuckDB
lets only one process hold a database file for writing: the CLI, ``modelctl
watch`` and a local functions-framework process take turns instead of locking
each other out. Within a process a lock serialises writers. A ``session`` (one
command or request: ``common.sql.engine_session``) shares one connection among
all the operations inside it.

Only ``apply_migration`` (``modelctl migrate``) creates the database file and its
folder: every other operation on a registry that does not exist fails with a
``ConfigError`` naming the command to run, and leaves the file system untouched.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from common import sql_cache
from common.errors import AppError, ConfigError, Conflict, MissingDatabase, MissingTable, TransientError
from common.sql import GUARD_PREFIX, Params, Statement, check_delete, plain

if TYPE_CHECKING:
    from sqlglot import exp

_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()
# file → the connection its open session shares (None until the session's first operation);
# only the thread holding that file's lock reads or writes its entry
_SESSIONS: dict[str, duckdb.DuckDBPyConnection | None] = {}
_DOLLAR = re.compile(r"\$(\w+)")
LOCK_WAIT_SECONDS = 15.0  # how long an open waits for another process's lock; the URL's ?lock_wait= overrides
# Between two tries at a file another process holds: doubling from 20 ms up to this. With 0.5 s, a
# waiter slept past the holder's release while other processes took the file (emulator stack: three
# workers' acknowledgements, a command, on_registry_change), and a registry change took 1.3-3.4 s to
# reach the workers in one round of six; at 50 ms every round took under 0.7 s (bench/README.md).
LOCK_RETRY_MAX_SECONDS = 0.05
URL_OPTIONS = {"lock_wait": "seconds an open waits for another process holding the file (default 15)"}


# BigQuery storage layout that DuckDB has no notion of (migration 010): dropped on purpose, the
# table being the same without it, rather than left for sqlglot to warn about as unsupported.
_STORAGE_OPTIONS = {"require_partition_filter", "partition_expiration_days"}


@lru_cache(maxsize=512)
def transpile(sql: str) -> str:
    """BigQuery SQL → DuckDB SQL (cached: the same statements run all day; across processes in
    ``SQL_CACHE_DIR`` when the process asked for it, ``common.sql_cache``)."""
    cached = sql_cache.get(sql)
    if cached is not None:
        return cached
    import sqlglot  # 0.1–0.2 s to import: a process whose statements are all cached never pays it

    translated = ";\n".join(
        _without_storage_layout(tree).sql(dialect="duckdb")
        for tree in sqlglot.parse(sql, read="bigquery")
        if tree is not None
    )
    sql_cache.put(sql, translated)
    return translated


def _lock_wait(url: str, query: str) -> float:
    """The URL's ``lock_wait`` option (seconds, 0 or more), else ``LOCK_WAIT_SECONDS``."""
    options = dict(part.partition("=")[::2] for part in query.split("&") if part)
    unknown = sorted(set(options) - set(URL_OPTIONS))
    if unknown:
        valid = "; ".join(f"{k}: {v}" for k, v in URL_OPTIONS.items())
        raise ConfigError(f"MODEL_REGISTRY_URL {url!r} has unknown option(s) {', '.join(unknown)}; valid: {valid}")
    if "lock_wait" not in options:
        return LOCK_WAIT_SECONDS
    try:
        seconds = float(options["lock_wait"])
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ConfigError(f"MODEL_REGISTRY_URL {url!r}: lock_wait must be a number of seconds, 0 or more")
    return seconds


def _without_storage_layout(tree: exp.Expr) -> exp.Expr:
    from sqlglot import exp

    storage_only = (exp.PartitionedByProperty, exp.ClusterProperty)
    for node in list(tree.find_all(exp.Property)):
        if isinstance(node, storage_only) or (type(node) is exp.Property and node.name in _STORAGE_OPTIONS):
            node.pop()
    return tree


class DuckDBEngine:
    """``duckdb:///absolute/path/registry.duckdb`` (``?lock_wait=SECONDS``: how long an open waits
    while another process holds the file, before it fails as busy; 15 s by default)."""

    def __init__(self, url: str) -> None:
        self.url = url
        raw, _, query = url.split("://", 1)[1].partition("?")
        self.lock_wait = _lock_wait(url, query)
        if not raw or raw == "/":
            raise ConfigError(f"MODEL_REGISTRY_URL {url!r} names no file; use duckdb:///path/to/registry.duckdb")
        self.path = Path(raw)
        if self.path.is_dir():  # neither "run migrate" (it cannot help) nor "busy" (retrying cannot either)
            raise ConfigError(
                f"MODEL_REGISTRY_URL {url} names a folder, not a registry file; "
                f"use duckdb://{self.path / 'registry.duckdb'}"
            )
        self._key = str(self.path.resolve())
        with _LOCKS_GUARD:
            self._lock = _LOCKS.setdefault(self._key, threading.RLock())

    # -- connection handling -------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[None]:
        """Every operation inside, on any engine of this file, shares one connection, opened
        at the first operation and closed at the end (one command or request: one connection).

        The session holds the file's process lock: other threads of the process wait for its
        end, other processes for the connection's end, as they wait for one operation.
        """
        with self._lock:
            if self._key in _SESSIONS:  # nested: the outer session's connection serves
                yield
                return
            _SESSIONS[self._key] = None
            try:
                yield
            finally:
                con = _SESSIONS.pop(self._key)
                if con is not None:
                    con.close()

    @contextmanager
    def _connect(self, create: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            shared = self._key in _SESSIONS
            con = _SESSIONS.get(self._key) if shared else None
            if con is None:
                con = self._open(create)
                if shared:
                    _SESSIONS[self._key] = con
            try:
                yield con
            finally:
                if not shared:
                    con.close()

    def _open(self, create: bool) -> duckdb.DuckDBPyConnection:
        if create:
            self._create_folder()
        elif not self.path.is_file():
            raise MissingDatabase(
                f"no registry at {self.path} (MODEL_REGISTRY_URL {self.url}): run `modelctl migrate` to create it"
            )
        con = self._open_with_retry()
        con.execute("SET TimeZone = 'UTC'")
        return con

    def _create_folder(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the registry folder for {self.url}: {exc}") from exc

    def _open_with_retry(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_wait
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise TransientError(f"registry {self.url} is busy or unreadable: {exc}") from exc
                time.sleep(delay)
                delay = min(delay * 2, LOCK_RETRY_MAX_SECONDS)

    # -- primitives ----------------------------------------------------------------------
    def query(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        with self._connect() as con:
            cursor = self._execute(con, sql, params or {})
            columns = [d[0] for d in cursor.description or []]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def run_atomic(self, statements: Sequence[Statement], create: bool = False) -> None:
        with self._connect(create) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for sql, params in statements:
                    self._execute(con, sql, params)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            self._commit(con)

    def write_frame(self, table: str, frame: Any, delete: Statement) -> None:
        """Run ``delete`` (a complete ``DELETE FROM table …`` from a queries module) and insert
        ``frame`` into ``table``, in one transaction."""
        check_delete(table, delete)
        columns = ", ".join(frame.columns)
        with self._connect() as con:
            con.register("_incoming_frame", frame)
            con.execute("BEGIN TRANSACTION")
            try:
                self._execute(con, *delete)
                con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _incoming_frame")
            except duckdb.Error as exc:
                con.execute("ROLLBACK")
                raise self._translate(exc) from exc
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.unregister("_incoming_frame")
            self._commit(con)

    def query_frame(self, sql: str, params: Params | None = None) -> Any:
        """A query's result as a pandas DataFrame."""
        with self._connect() as con:
            return self._execute(con, sql, params or {}).fetchdf()

    def apply_migration(
        self, version: int, name: str, statements: Sequence[str], record: Statement | None = None
    ) -> None:
        """The one primitive that may create the database (``modelctl migrate``). The migration's
        statements and its ``record`` (the schema_migrations row) commit together or not at all:
        a process killed half-way leaves the migration unapplied and unrecorded."""
        self.run_atomic([*((s, {}) for s in statements), *([record] if record else [])], create=True)

    def close(self) -> None:  # connections are per operation (or per ``session``)
        return None

    # -- helpers -------------------------------------------------------------------------
    def _commit(self, con: duckdb.DuckDBPyConnection) -> None:
        """COMMIT, its failure translated like any statement's: a full disk under the registry fails
        the commit (DuckDB rolls the transaction back), and the same write may succeed later."""
        try:
            con.execute("COMMIT")
        except duckdb.Error as exc:
            raise self._translate(exc) from exc

    def _execute(self, con: duckdb.DuckDBPyConnection, sql: str, params: Params) -> duckdb.DuckDBPyConnection:
        text = transpile(sql)
        wanted = set(_DOLLAR.findall(text))
        bound = {k: plain(v) for k, v in params.items() if k in wanted}
        try:
            return con.execute(text, bound) if bound else con.execute(text)
        except duckdb.Error as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: duckdb.Error) -> AppError:
        """Every DuckDB error as one of ours, with one line of DuckDB's text."""
        message = str(exc)
        first = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
        if isinstance(exc, duckdb.InvalidInputException) and GUARD_PREFIX in message:
            return Conflict(message.split(GUARD_PREFIX, 1)[1].strip().splitlines()[0])
        if isinstance(exc, duckdb.CatalogException):
            return MissingTable(f"{first} — run `modelctl migrate` against {self.url}")
        if "could not write" in message.lower() or "no space left" in message.lower():  # e.g. a full disk
            return TransientError(f"registry {self.url} could not write, nothing was committed: {first}")
        if isinstance(exc, duckdb.TransactionException):
            return TransientError(f"registry write conflicted with another writer, retry: {first}")
        if isinstance(exc, duckdb.ConstraintException):
            return Conflict(f"registry {self.url} refused the write: {first}")
        if isinstance(exc, (duckdb.BinderException, duckdb.ParserException)):  # as BigQuery's BadRequest: a
            # statement this schema cannot take fails the same way on every retry
            why = "schema out of date? `modelctl migrate`"
            return ConfigError(f"registry {self.url} rejected a statement ({why}): {first}")
        return TransientError(f"registry {self.url} failed: {type(exc).__name__}: {first}")  # the default branch
