"""Offline launcher for the ``bqemulator`` BigQuery emulator.

Run with the emulator venv's interpreter, same arguments as the ``bqemulator``
CLI::

    .venv-bqemu/bin/python tests/support/bqemu_launch.py start --rest-port 9050

bqemulator 1.4.0 runs ``INSTALL spatial; LOAD spatial`` at engine start and
aborts when that fails (offline: "Failed to download extension ...").  It has
no setting to turn this off (``BQEMU_ENABLE_FORMAT_EXTENSIONS=false`` only
covers the ``avro`` extension, which this launcher also disables).  We replace
``DuckDBEngine._load_spatial`` with a version that never downloads anything:
it turns off DuckDB's extension auto-install (so no query can reach out to
extensions.duckdb.org either) and only LOADs ``spatial`` if it is already
installed locally.  Without it, GEOGRAPHY / ST_* queries fail; nothing else
depends on it.

Second patch (on by default, ``BQEMU_LAUNCH_SCRIPT_PARAMS=0`` turns it off):
bqemulator does not pass a job's named query parameters to multi-statement
scripts, so ``BEGIN TRANSACTION; INSERT ... VALUES (@k); COMMIT TRANSACTION;``
fails with "Values were not provided for the following parameters: k",
while BigQuery accepts it.  We bind them the way the emulator already binds
script variables: each ``@name`` becomes a numbered placeholder (``@1``...,
``$1`` in DuckDB) whose value comes from the job's parameters, NULLs cast to
the declared type.

Third patch (on by default, ``BQEMU_LAUNCH_ALTER_SYNC=0`` turns it off): bqemulator runs
``ALTER TABLE t ADD COLUMN c`` in DuckDB but leaves its catalog's schema of ``t`` as it was, so
``tables.get`` (and with it every load job's schema, which is how ``write_frame`` writes) never
sees ``c``; BigQuery updates the table's schema. We refresh the catalog entry's schema from DuckDB
after every ``ALTER TABLE … ADD COLUMN``, keeping its other metadata (partitioning, options).

Fourth patch (on by default, ``BQEMU_LAUNCH_JOBS_QUERY=0`` turns it off): the synchronous
``jobs.query`` (``POST /projects/P/queries``, what ``Client.query_and_wait`` sends) differs from
BigQuery's in two ways the engine depends on. It ignores the request's ``defaultDataset`` (only
``jobs.insert`` applies it), so an unqualified table name is not found; we qualify the SQL with the
emulator's own ``_apply_default_dataset`` before its handler reads the body. And it answers a
failed query with HTTP 200 and ``errors`` (the client then returns no rows, as if the query had
succeeded); BigQuery answers with an HTTP error, so we turn that answer into the error status of
its reason (the client library's own reason → status table) and BigQuery's error body.

Fifth patch (on by default, ``BQEMU_LAUNCH_PARSE_CACHE=0`` turns it off): the emulator parses
each statement's text a dozen times or more (every DDL detector, rewriter and guard calls
``sqlglot.parse_one`` on the same string), about half of its CPU. Parsing is a pure function of the
text, the dialect (its class, version and settings) and the parser options, so
``Dialect.parse`` keeps the trees of the last ``_PARSE_CACHE_SIZE`` texts and hands out copies
(callers rewrite the trees they get; a copy costs about half a parse). A text that fails to parse
is not kept: it raises as before, every time.

Sixth patch (on by default, ``BQEMU_LAUNCH_TRANSLATE_CACHE=0`` turns it off): after the catalog
work (row-access filters, INFORMATION_SCHEMA, wildcard tables: not cached), the emulator's
``SQLTranslator.translate`` turns the BigQuery text into DuckDB text through a chain of text
rewriters, sqlglot's transpile and its rules. Its answer depends only on the text, the table
schemas it is given and the caller's identity, so a successful translation is kept by those
three (the schemas by value: a table whose columns changed gets a new key); failures are not kept.

This file must stay importable with the emulator venv only (no project
imports).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import threading
import time
from typing import Any


def _load_spatial_offline(self) -> None:  # type: ignore[no-untyped-def]
    conn = self.connection
    conn.execute("SET autoinstall_known_extensions = false")
    with contextlib.suppress(Exception):  # GEOGRAPHY simply stays unavailable
        conn.execute("LOAD spatial")  # local only; never downloads


def _exit_with_parent() -> None:
    """Stop when the process in ``$BQEMU_LAUNCH_PARENT_PID`` is gone.

    The harness starts us in our own session, so a killed test run would
    otherwise leave the emulator running.
    """
    parent = int(os.environ.get("BQEMU_LAUNCH_PARENT_PID") or 0)
    if parent != os.getppid():
        return

    def watch() -> None:
        while os.getppid() == parent:  # re-parented once the parent died
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


_SCRIPT_PARAMS: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar(
    "bqemu_script_params", default=None
)


def _patch_script_parameters() -> None:
    import sqlglot
    from bqemulator.jobs import executor
    from bqemulator.scripting import interpreter
    from bqemulator.sql.parameters import _extract_value
    from sqlglot import exp

    run_query_body = executor._run_query_body
    rewrite_vars = interpreter._rewrite_vars_to_params

    async def _run_query_body(**kwargs: Any) -> Any:
        token = _SCRIPT_PARAMS.set(kwargs.get("query_params") if kwargs.get("is_scripted") else None)
        try:
            return await run_query_body(**kwargs)
        finally:
            _SCRIPT_PARAMS.reset(token)

    def _rewrite_vars_to_params(bq_sql: str, frames: Any) -> tuple[str, list[Any]]:
        sql, values = rewrite_vars(bq_sql, frames)
        named = {p["name"].lower(): p for p in _SCRIPT_PARAMS.get() or () if p.get("name")}
        if not named or "@" not in sql:
            return sql, values
        try:
            tree = sqlglot.parse_one(sql, read="bigquery")
        except Exception:  # noqa: BLE001 - leave the statement as the emulator would
            return sql, values
        values = list(values)
        slots: dict[str, int] = {}
        for node in list(tree.find_all(exp.Parameter)):
            inner = node.this
            if isinstance(node.parent, exp.Parameter) or not isinstance(inner, exp.Var | exp.Identifier):
                continue  # @@system variables
            param = named.get(inner.name.lower())
            if param is None:
                continue
            key = inner.name.lower()
            if key not in slots:
                values.append(_extract_value(param))
                slots[key] = len(values)
            placeholder: exp.Expression = exp.Placeholder(this=str(slots[key]))
            bq_type = param.get("parameterType", {}).get("type", "")
            if values[slots[key] - 1] is None and bq_type not in ("", "ARRAY", "STRUCT"):
                with contextlib.suppress(Exception):
                    placeholder = exp.Cast(this=placeholder, to=exp.DataType.build(bq_type, dialect="bigquery"))
            node.replace(placeholder)
        if not slots:
            return sql, values
        return tree.sql(dialect="bigquery"), values

    executor._run_query_body = _run_query_body
    interpreter._rewrite_vars_to_params = _rewrite_vars_to_params


def _patch_alter_add_column() -> None:
    import sqlglot
    from bqemulator.catalog import ddl_sync
    from bqemulator.jobs import executor
    from bqemulator.scripting import interpreter
    from sqlglot import exp

    sync_created_table = ddl_sync.sync_created_table

    def sync(bq_sql: str, project_id: str, ctx: Any) -> None:
        sync_created_table(bq_sql, project_id, ctx)
        try:
            tree = sqlglot.parse_one(bq_sql, read="bigquery")
        except Exception:  # noqa: BLE001 - not ours to judge
            return
        actions = tree.args.get("actions") or [] if isinstance(tree, exp.Alter) else []
        if not any(isinstance(a, exp.ColumnDef) for a in actions):
            return
        p_id, d_id, t_id = ddl_sync._split_target(tree.this, project_id)
        meta = ctx.catalog.get_table(p_id, d_id, t_id) if d_id and t_id else None
        if meta is None:
            return
        schema = ddl_sync._introspect_schema(p_id, d_id, t_id, ctx)
        ctx.catalog.update_table(meta.model_copy(update={"schema_": schema}))

    executor.sync_created_table = sync
    interpreter.sync_created_table = sync


# google.cloud.bigquery.job.base._ERROR_REASON_TO_EXCEPTION (not importable here): how BigQuery
# answers a failed jobs.query, by the reason of its first error; any other reason is a 500.
_REASON_STATUS = {
    "accessDenied": 403,
    "backendError": 500,
    "billingNotEnabled": 403,
    "billingTierLimitExceeded": 400,
    "blocked": 403,
    "duplicate": 409,
    "internalError": 500,
    "invalid": 400,
    "invalidQuery": 400,
    "notFound": 404,
    "notImplemented": 501,
    "policyViolation": 403,
    "quotaExceeded": 403,
    "rateLimitExceeded": 429,
    "resourceInUse": 400,
    "resourcesExceeded": 400,
    "responseTooLarge": 403,
    "tableUnavailable": 400,
}


def _patch_jobs_query() -> None:
    import functools

    from bqemulator.api.routes import jobs
    from fastapi.responses import JSONResponse
    from fastapi.routing import APIRoute

    original = jobs.query

    @functools.wraps(original)  # FastAPI reads the original's parameters (its dependencies)
    async def query(project_id: str, request: Any, ctx: Any, caller: Any) -> Any:
        body = await request.json()  # Starlette keeps this dict: the handler reads the same one
        if isinstance(body, dict) and isinstance(body.get("query"), str):
            body["query"] = jobs._apply_default_dataset(body["query"], body, request_project_id=project_id)
        answer = await original(project_id=project_id, request=request, ctx=ctx, caller=caller)
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if not errors:
            return answer
        status = _REASON_STATUS.get(str(errors[0].get("reason")), 500)
        error = {"code": status, "message": str(errors[0].get("message", "")), "errors": errors}
        return JSONResponse(status_code=status, content={"error": error})

    routes = jobs.router.routes
    for index, route in enumerate(routes):
        if isinstance(route, APIRoute) and route.endpoint is original:
            jobs.router.add_api_route(route.path.removeprefix(jobs.router.prefix), query, methods=sorted(route.methods))
            routes[index] = routes.pop()  # in the original's place: routes match in order
            return
    raise RuntimeError("bqemulator's jobs.query route not found: BQEMU_LAUNCH_JOBS_QUERY=0 runs without it")


_PARSE_CACHE_SIZE = 4096


def _patch_parse_cache() -> None:
    from collections import OrderedDict

    from sqlglot.dialects.dialect import Dialect

    parse = Dialect.parse
    kept: OrderedDict[tuple[Any, ...], list[Any]] = OrderedDict()

    def cached_parse(self: Any, sql: str, **opts: Any) -> list[Any]:
        try:
            key = (type(self), self.version, self.normalization_strategy, tuple(sorted(self.settings.items())))
            key += (sql, tuple(sorted(opts.items())))
            hash(key)
        except TypeError:  # an unhashable option: not cacheable
            return parse(self, sql, **opts)
        trees = kept.get(key)
        if trees is None:
            trees = kept[key] = parse(self, sql, **opts)
            if len(kept) > _PARSE_CACHE_SIZE:
                kept.popitem(last=False)
        else:
            kept.move_to_end(key)
        return [tree.copy() if tree is not None else None for tree in trees]

    Dialect.parse = cached_parse  # type: ignore[method-assign]


def _patch_translate_cache() -> None:
    from collections import OrderedDict

    from bqemulator.sql.translator import SQLTranslator

    translate = SQLTranslator.translate
    kept: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def cached_translate(self: Any, bq_sql: str, *, schema: Any = None, caller: Any = None, **kwargs: Any) -> Any:
        try:
            key = (bq_sql, repr(schema), caller, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return translate(self, bq_sql, schema=schema, caller=caller, **kwargs)
        answer = kept.get(key)
        if answer is not None:
            kept.move_to_end(key)
            return answer
        answer = translate(self, bq_sql, schema=schema, caller=caller, **kwargs)
        if answer.is_ok():  # Ok(text) is frozen: safe to hand out again
            kept[key] = answer
            if len(kept) > _PARSE_CACHE_SIZE:
                kept.popitem(last=False)
        return answer

    SQLTranslator.translate = cached_translate  # type: ignore[method-assign]


def main() -> None:
    """Patch the spatial loader, then hand over to the bqemulator CLI."""
    _exit_with_parent()
    os.environ.setdefault("BQEMU_ENABLE_FORMAT_EXTENSIONS", "false")
    os.environ.setdefault("BQEMU_TRACING_ENABLED", "false")

    from bqemulator.storage.engine import DuckDBEngine

    DuckDBEngine._load_spatial = _load_spatial_offline  # type: ignore[method-assign]
    if os.environ.get("BQEMU_LAUNCH_SCRIPT_PARAMS", "1") != "0":
        _patch_script_parameters()
    if os.environ.get("BQEMU_LAUNCH_ALTER_SYNC", "1") != "0":
        _patch_alter_add_column()
    if os.environ.get("BQEMU_LAUNCH_JOBS_QUERY", "1") != "0":
        _patch_jobs_query()
    if os.environ.get("BQEMU_LAUNCH_PARSE_CACHE", "1") != "0":
        _patch_parse_cache()
    if os.environ.get("BQEMU_LAUNCH_TRANSLATE_CACHE", "1") != "0":
        _patch_translate_cache()

    from bqemulator.cli import main as cli_main

    cli_main(prog_name="bqemulator")


if __name__ == "__main__":
    main()
