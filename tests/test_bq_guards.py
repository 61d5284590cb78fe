"""BigQuery job guards: every job carries maximum_bytes_billed and a label naming who ran it, and
each job's bytes are logged (issue 16).

The jobs are sent by the real engine through google-cloud-bigquery to bqemulator; what went over
the wire is read from the HTTP requests themselves (a response hook on the client's session), so
the test sees exactly what BigQuery would receive.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from common.errors import ConfigError
from common.grading.catalog import load_catalog
from common.grading.service import grade_dates
from common.registry.queries import MIGRATIONS_TABLE_DDL
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.settings import Settings
from common.sql import migration_files, qualify_view, split_statements
from common.sql_bigquery import BigQueryEngine, JobOptions, configure_jobs, job_options, label_value
from tests import test_grading
from tests.test_grading import D1, D2, NOW, hand_fixture

CAP, MIGRATION_CAP = 123_456_789, 987_654_321


@pytest.fixture
def guarded() -> Iterator[JobOptions]:
    settings = Settings(bq_maximum_bytes_billed=CAP, bq_migration_maximum_bytes_billed=MIGRATION_CAP)
    previous = job_options()
    yield configure_jobs(settings, "modelctl-grade")
    configure_jobs(
        Settings(
            bq_maximum_bytes_billed=previous.maximum_bytes_billed,
            bq_migration_maximum_bytes_billed=previous.migration_maximum_bytes_billed,
        ),
        previous.ran_by,
    )


def record_jobs(engine: Any) -> list[dict[str, Any]]:
    """Every job the engine's client sends from now on, as its job configuration: query jobs
    (``jobs.query``, whose request carries the configuration at its top level, or ``jobs.insert``)
    and load jobs."""
    sent: list[dict[str, Any]] = []

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        request = response.request
        path = urlparse(request.url).path
        if request.method != "POST" or not (path.endswith("/jobs") or path.endswith("/queries")):
            return
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        start = body.find('{"')  # a load job is multipart: the resource is the first JSON part
        if start >= 0:
            resource, _ = json.JSONDecoder().raw_decode(body[start:])
            if path.endswith("/queries"):  # jobs.query: a QueryRequest
                labels = resource.pop("labels", None)
                resource = {"configuration": {"query": resource, "labels": labels}}
            if "configuration" in resource:
                sent.append(resource)

    engine.client._http.hooks["response"].append(hook)
    return sent


@pytest.mark.emulator
def test_every_job_is_capped_labelled_and_logged(
    bq_emulator: Any, guarded: JobOptions, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"bigquery://{bq_emulator.project}/guards_{uuid.uuid4().hex[:10]}?endpoint={bq_emulator.endpoint}"
    store = RegistryStore.open(url)
    sent = record_jobs(store.engine)
    monkeypatch.setattr(test_grading, "engine_of", lambda _registry: store.engine)  # the fixture's writes, recorded
    caplog.set_level(logging.INFO, logger="common.sql_bigquery")
    store.migrate(NOW)
    migrations = len(sent)
    registry = RegistryService(store, actor="pytest")
    grading = hand_fixture(registry)  # season rows and predictions through write_frame: load jobs
    grade_dates(grading, load_catalog(registry.list), [D1, D2], NOW)

    queries = [job["configuration"]["query"] for job in sent if "query" in job["configuration"]]
    loads = [job for job in sent if "load" in job["configuration"]]
    statements = [s for _v, _n, path in migration_files() for s in split_statements(path.read_text())]
    ddl = {MIGRATIONS_TABLE_DDL, *(qualify_view(s, bq_emulator.project, store.engine.dataset) for s in statements)}
    migration_jobs = [q for q in queries if q["query"] in ddl]
    assert len(migration_jobs) > 20 and len(queries) > migrations and loads
    assert {q.get("maximumBytesBilled") for q in migration_jobs} == {str(MIGRATION_CAP)}
    assert {q.get("maximumBytesBilled") for q in queries if q["query"] not in ddl} == {str(CAP)}
    assert all(job["configuration"]["labels"] == {"ran_by": "modelctl-grade"} for job in sent)
    logged = [r for r in caplog.records if r.getMessage().startswith("bigquery job ")]
    assert len(logged) == len(queries)  # one line per query job, with its bytes
    assert all(r.ran_by == "modelctl-grade" and hasattr(r, "bytes_processed") for r in logged)  # type: ignore[attr-defined]
    assert all(r.job_id and r.job_id in r.getMessage() for r in logged)  # type: ignore[attr-defined]
    # jobs.query's answer, as the client reads it, has no bytes billed: said, not guessed
    assert all(r.bytes_billed is None and "unknown bytes billed" in r.getMessage() for r in logged)  # type: ignore[attr-defined]
    store.close()


def test_the_settings_read_the_caps_from_the_environment() -> None:
    settings = Settings.from_env({"BQ_MAXIMUM_BYTES_BILLED": "5000000", "MODELCTL_ACTOR": "update_performance"})
    assert (settings.bq_maximum_bytes_billed, settings.bq_migration_maximum_bytes_billed) == (5_000_000, 100 * 1024**3)
    assert Settings.from_env({}).bq_maximum_bytes_billed == 1024**3
    with pytest.raises(ConfigError, match="BQ_MAXIMUM_BYTES_BILLED must be a whole number"):
        Settings.from_env({"BQ_MAXIMUM_BYTES_BILLED": "1GB"})
    options = configure_jobs(settings)
    try:
        assert options.labels == {"ran_by": "update_performance"}  # a deployed function: its actor
    finally:
        configure_jobs(Settings(), "unconfigured")


def test_label_values_follow_bigquery_rules() -> None:
    assert label_value("modelctl-grade") == "modelctl-grade"
    assert label_value("Jane.Doe@Example.com") == "jane-doe-example-com"
    assert len(label_value("x" * 100)) == 63


def test_a_query_over_the_cap_is_a_configuration_error_naming_the_setting() -> None:
    from google.api_core import exceptions as gexc

    engine = BigQueryEngine("bigquery://p/d")
    # BigQuery's answer to a job over maximum_bytes_billed (reason bytesBilledLimitExceeded)
    error = gexc.BadRequest(
        "Query exceeded limit for bytes billed: 1073741824. 2147483648 or higher required.",
        errors=[{"reason": "bytesBilledLimitExceeded"}],
    )
    translated = engine._translate(error)
    assert isinstance(translated, ConfigError)
    assert "BQ_MAXIMUM_BYTES_BILLED" in str(translated) and "game_date" in str(translated)


def test_the_cli_labels_its_jobs_with_the_command(
    isolated_env: Any, guarded: JobOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common.cli.main import main

    monkeypatch.setenv("BQ_MAXIMUM_BYTES_BILLED", "4242")
    assert main(["migrate"]) == 0
    assert (job_options().ran_by, job_options().labels, job_options().maximum_bytes_billed) == (
        "modelctl-migrate",
        {"ran_by": "modelctl-migrate"},
        4242,
    )


def test_a_deployed_function_labels_its_jobs_with_its_name(
    isolated_env: Any, guarded: JobOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.events import post, pubsub_event
    from tests.test_functions import client

    monkeypatch.setenv("MODELCTL_ACTOR", "update_performance")  # what the deploy sets per function
    post(client("update_performance"), pubsub_event("pubsub_graded_games.json"))  # 500: not migrated
    assert job_options().labels == {"ran_by": "update_performance"}
    assert job_options().maximum_bytes_billed == Settings().bq_maximum_bytes_billed
