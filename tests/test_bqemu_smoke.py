"""Smoke tests of the bqemulator harness (tests/support/bqemu.py).

They prove the emulator starts offline on 127.0.0.1, that a client made by
``make_client`` can create datasets and tables, bind named parameters
(including typed NULLs), MERGE, and that failures surface at once instead of
being retried for minutes.  The emulator comes from the session-scoped
``bq_emulator`` fixture in tests/conftest.py (started once per session).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

pytestmark = pytest.mark.emulator

bigquery = pytest.importorskip("google.cloud.bigquery")
from google.api_core import exceptions  # noqa: E402
from google.cloud.bigquery import ScalarQueryParameter  # noqa: E402

from tests.support.bqemu import make_client  # noqa: E402

COLUMNS = [
    ("s", "STRING"),
    ("i", "INT64"),
    ("f", "FLOAT64"),
    ("b", "BOOL"),
    ("d", "DATE"),
    ("ts", "TIMESTAMP"),
]


@pytest.fixture(scope="session")
def bq_client(bq_emulator: object) -> bigquery.Client:
    """One short-retry client for the whole session."""
    return make_client(bq_emulator)  # type: ignore[arg-type]


@pytest.fixture
def dataset(bq_client: bigquery.Client) -> Iterator[str]:
    """A fresh dataset; yields its ``project.dataset`` id."""
    ds_id = f"{bq_client.project}.smoke_{uuid.uuid4().hex[:10]}"
    bq_client.create_dataset(ds_id)
    yield ds_id
    bq_client.delete_dataset(ds_id, delete_contents=True, not_found_ok=True)


def _query(client: bigquery.Client, sql: str, **params: tuple[str, object]) -> list[dict[str, object]]:
    config = bigquery.QueryJobConfig(
        query_parameters=[ScalarQueryParameter(name, typ, value) for name, (typ, value) in params.items()]
    )
    return [dict(row) for row in client.query(sql, job_config=config).result()]


def test_dataset_is_listed(bq_client: bigquery.Client, dataset: str) -> None:
    names = {d.dataset_id for d in bq_client.list_datasets()}
    assert dataset.split(".")[1] in names


def test_typed_insert_and_select_with_named_parameters(bq_client: bigquery.Client, dataset: str) -> None:
    table = f"`{dataset}.typed`"
    cols = ", ".join(f"{name} {typ}" for name, typ in COLUMNS)
    _query(bq_client, f"CREATE TABLE {table} (k STRING NOT NULL, {cols}, j JSON)")

    names = ", ".join(name for name, _ in COLUMNS)
    placeholders = ", ".join(f"@{name}" for name, _ in COLUMNS)
    # JSON goes in as STRING + PARSE_JSON: the emulator stores a JSON-typed
    # parameter as a JSON *string* (double-encoded), unlike BigQuery.
    insert = f"INSERT INTO {table} (k, {names}, j) VALUES (@k, {placeholders}, PARSE_JSON(@j))"
    full = {
        "s": ("STRING", "héllo"),
        "i": ("INT64", 42),
        "f": ("FLOAT64", 1.5),
        "b": ("BOOL", True),
        "d": ("DATE", date(2024, 1, 2)),
        "ts": ("TIMESTAMP", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    }
    _query(bq_client, insert, k=("STRING", "full"), j=("STRING", '{"a": {"b": 1}}'), **full)
    nulls = {name: (typ, None) for name, typ in COLUMNS}
    _query(bq_client, insert, k=("STRING", "nulls"), j=("STRING", None), **nulls)

    rows = _query(bq_client, f"SELECT *, JSON_VALUE(j, '$.a.b') AS jv FROM {table} ORDER BY k")
    assert [r["k"] for r in rows] == ["full", "nulls"]
    got, empty = rows
    for name, (_, value) in full.items():
        assert got[name] == value, name
        assert empty[name] is None, name
    assert got["j"] == {"a": {"b": 1}}
    assert got["jv"] == "1"
    assert empty["j"] is None


def test_merge_upsert(bq_client: bigquery.Client, dataset: str) -> None:
    table = f"`{dataset}.kv`"
    _query(bq_client, f"CREATE TABLE {table} (k STRING, v INT64, updated_at TIMESTAMP)")
    merge = f"""
        MERGE {table} t
        USING (SELECT @k AS k, @v AS v) s
        ON t.k = s.k
        WHEN MATCHED THEN UPDATE SET v = s.v, updated_at = CURRENT_TIMESTAMP()
        WHEN NOT MATCHED THEN INSERT (k, v, updated_at) VALUES (s.k, s.v, CURRENT_TIMESTAMP())
    """
    for k, v in [("a", 1), ("b", 2), ("a", 10)]:
        config = bigquery.QueryJobConfig(
            query_parameters=[ScalarQueryParameter("k", "STRING", k), ScalarQueryParameter("v", "INT64", v)]
        )
        job = bq_client.query(merge, job_config=config)
        job.result()
        assert job.num_dml_affected_rows == 1

    rows = _query(bq_client, f"SELECT k, v, updated_at IS NOT NULL AS stamped FROM {table} ORDER BY k")
    assert rows == [{"k": "a", "v": 10, "stamped": True}, {"k": "b", "v": 2, "stamped": True}]


def test_errors_surface_without_long_retries(bq_client: bigquery.Client) -> None:
    start = time.monotonic()
    with pytest.raises(exceptions.BadRequest, match="some message"):
        bq_client.query("SELECT ERROR('some message')").result()
    # An unhandled RAISE is an emulator bug answered with HTTP 500: the
    # default client would retry it for 10 minutes.
    with pytest.raises(exceptions.InternalServerError):
        bq_client.query("RAISE USING MESSAGE = 'boom';").result()
    # jobs.query path: an HTTP error as BigQuery's (the launcher's patch; without it the emulator
    # answers 200 + "errors" and make_client raises).
    with pytest.raises(exceptions.BadRequest, match="via jobs.query"):
        bq_client.query_and_wait("SELECT ERROR('via jobs.query')")
    assert time.monotonic() - start < 10
    # ...and the client recovers (the emulator drops the connection after a 500).
    assert [dict(r) for r in bq_client.query("SELECT 1 AS x").result()] == [{"x": 1}]


def test_script_transaction_shares_parameters_and_rolls_back(bq_client: bigquery.Client, dataset: str) -> None:
    # Named parameters inside a multi-statement script need the launcher's
    # patch (bqemulator 1.4.0 alone: "Values were not provided ...").
    table = f"`{dataset}.tx`"
    _query(bq_client, f"CREATE TABLE {table} (k STRING, v INT64)")
    script = f"""
        BEGIN TRANSACTION;
        INSERT INTO {table} (k, v) VALUES (@k, @v);
        UPDATE {table} SET v = v + @v WHERE k = @k;
        SELECT IF((SELECT COUNT(*) FROM {table}) <= @max_rows, 0, ERROR(CONCAT('guard failed: ', @k)));
        COMMIT TRANSACTION;
    """
    _query(bq_client, script, k=("STRING", "a"), v=("INT64", 5), max_rows=("INT64", 1))
    with pytest.raises(exceptions.BadRequest, match="guard failed: b"):
        _query(bq_client, script, k=("STRING", "b"), v=("INT64", 1), max_rows=("INT64", 1))
    assert _query(bq_client, f"SELECT k, v FROM {table}") == [{"k": "a", "v": 10}]


def test_jobs_query_answers_as_bigquery_does(bq_emulator: object, bq_client: bigquery.Client) -> None:
    """Through a plain client (make_client's own error check aside): jobs.query applies the default
    dataset and answers a failed query with an HTTP error (the launcher's patch); the same text sent
    with two default datasets reads each one's table (the parse cache hands out copies, so one
    job's rewrite of its tree never reaches the next)."""
    import requests
    from google.auth.credentials import AnonymousCredentials

    session = requests.Session()
    session.trust_env = False  # 127.0.0.1 only
    client = bigquery.Client(
        project=bq_client.project,
        credentials=AnonymousCredentials(),
        _http=session,
        client_options={"api_endpoint": bq_emulator.endpoint},  # type: ignore[attr-defined]
    )
    names = [f"{bq_client.project}.qaw_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    try:
        for value, name in enumerate(names):
            bq_client.create_dataset(name)
            _query(bq_client, f"CREATE TABLE `{name}.t` AS SELECT {value} AS v")
        for _ in range(2):
            for value, name in enumerate(names):
                config = bigquery.QueryJobConfig(default_dataset=name)
                assert [dict(r) for r in client.query_and_wait("SELECT v FROM t", job_config=config)] == [{"v": value}]
        with pytest.raises(exceptions.BadRequest, match="refused here"):
            client.query_and_wait("SELECT ERROR('refused here')", job_retry=None)
        with pytest.raises(exceptions.NotFound):
            client.query_and_wait("SELECT v FROM nowhere", job_config=config, job_retry=None)
    finally:
        for name in names:
            bq_client.delete_dataset(name, delete_contents=True, not_found_ok=True)
        session.close()
