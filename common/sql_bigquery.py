"""The production engine: the same BigQuery SQL, sent through google-cloud-bigquery.

URL: ``bigquery://PROJECT/DATASET`` (optionally ``?location=US`` and, for the
local emulator, ``&endpoint=http://127.0.0.1:PORT`` which also switches to
anonymous credentials).

Atomic units run as one multi-statement script inside ``BEGIN TRANSACTION …
COMMIT TRANSACTION``; BigQuery rolls the transaction back when any statement,
including a guard's ``ERROR()``, fails. Migrations are not transactional on
BigQuery (DDL never is), so every migration statement is idempotent and the
version row is written only after all of them succeeded: a re-run converges, and
a migration re-applied after it was recorded loses nothing (a create-copy-swap
carries every column that exists).

Every job carries the guards of :class:`JobOptions` (set once per process by
:func:`configure_jobs` from ``Settings``): ``maximum_bytes_billed``, so that a
query that would scan too much fails instead of billing, and a ``ran_by`` label
naming the function or ``modelctl`` command; each job's bytes processed are
logged. Queries go through ``jobs.query`` (``query_and_wait``): one round trip for a short query
instead of insert, poll and read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from common.errors import AppError, ConfigError, Conflict, MissingTable, TransientError
from common.settings import Settings
from common.sql import GUARD_PREFIX, Params, Statement, check_delete, infer_type, merge_statements, plain, qualify_view

log = logging.getLogger(__name__)
_TRANSIENT_MARKERS = ("concurrent update", "could not serialize", "rate limit", "try again", "backenderror")
_BYTES_LIMIT_MARKERS = ("bytesbilledlimitexceeded", "exceeded limit for bytes billed")
QUERY_TIMEOUT_SECONDS = 60.0
LABEL_KEY = "ran_by"


@dataclass(frozen=True)
class JobOptions:
    """The guards every BigQuery job of this process carries."""

    ran_by: str = "unconfigured"
    maximum_bytes_billed: int = Settings.bq_maximum_bytes_billed
    migration_maximum_bytes_billed: int = Settings.bq_migration_maximum_bytes_billed

    @property
    def labels(self) -> dict[str, str]:
        return {LABEL_KEY: label_value(self.ran_by)}


_options = JobOptions()


def configure_jobs(settings: Settings, ran_by: str | None = None) -> JobOptions:
    """Set this process's job guards from ``settings``: the label names ``ran_by`` (the CLI passes
    ``modelctl-<command>``) or else the actor (a deployed function's name). Called once at start."""
    global _options
    _options = JobOptions(
        ran_by=ran_by or settings.actor,
        maximum_bytes_billed=settings.bq_maximum_bytes_billed,
        migration_maximum_bytes_billed=settings.bq_migration_maximum_bytes_billed,
    )
    return _options


def job_options() -> JobOptions:
    return _options


def label_value(text: str) -> str:
    """``text`` as a BigQuery label value: lowercase letters, digits, ``_`` and ``-``, at most 63."""
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:63] or "unknown"


class BigQueryEngine:
    """``bigquery://project/dataset[?location=L&endpoint=URL]``"""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        dataset = parsed.path.strip("/")
        if not parsed.netloc or not dataset or "/" in dataset:
            raise ConfigError(f"MODEL_REGISTRY_URL {url!r} must look like bigquery://PROJECT/DATASET")
        self.url = url
        self.project = parsed.netloc
        self.dataset = dataset
        options = parse_qs(parsed.query)
        self.location = options.get("location", [None])[0]
        self.endpoint = options.get("endpoint", [None])[0]
        self._client: Any = None

    # -- client ------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            from google.cloud import bigquery

            kwargs: dict[str, Any] = {"project": self.project, "location": self.location}
            if self.endpoint:
                from google.auth.credentials import AnonymousCredentials

                kwargs["credentials"] = AnonymousCredentials()
                kwargs["client_options"] = {"api_endpoint": self.endpoint}
            from google.auth.exceptions import GoogleAuthError

            try:
                self._client = bigquery.Client(**kwargs)
            except GoogleAuthError as exc:
                raise ConfigError(
                    f"MODEL_REGISTRY_URL {self.url}: no Google credentials for BigQuery "
                    f"(`gcloud auth application-default login`): {exc}"
                ) from None
        return self._client

    def _retries(self) -> dict[str, Any]:
        from google.api_core.retry import Retry
        from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY, DEFAULT_RETRY

        # The client retries 5xx for ten minutes by default; a Cloud Function should
        # fail fast and let the platform redeliver instead.
        return {
            "retry": DEFAULT_RETRY.with_timeout(20.0),
            "job_retry": Retry(predicate=DEFAULT_JOB_RETRY._predicate, timeout=10.0),
        }

    def _params(self, params: Params) -> list[Any]:
        from google.cloud import bigquery

        result: list[Any] = []
        for name, value in params.items():
            kind, raw = infer_type(value), plain(value)
            if kind == "ARRAY":
                element = infer_type(raw[0]) if raw else "STRING"
                result.append(bigquery.ArrayQueryParameter(name, element, list(raw)))
            else:
                result.append(bigquery.ScalarQueryParameter(name, kind, raw))
        return result

    def _run(self, sql: str, params: Params, maximum_bytes_billed: int | None = None) -> list[dict[str, Any]]:
        from google.api_core import exceptions as gexc
        from google.auth.exceptions import GoogleAuthError
        from google.cloud import bigquery

        options = job_options()
        config = bigquery.QueryJobConfig(
            query_parameters=self._params(params),
            default_dataset=f"{self.project}.{self.dataset}",
            maximum_bytes_billed=maximum_bytes_billed or options.maximum_bytes_billed,
            labels=options.labels,
        )
        try:  # jobs.query: one round trip when the answer is ready (else it polls the job it made)
            rows = self.client.query_and_wait(
                sql, job_config=config, wait_timeout=QUERY_TIMEOUT_SECONDS, **self._retries()
            )
            _log_job(rows, options)
            return [dict(row.items()) for row in rows]
        except gexc.GoogleAPICallError as exc:
            raise self._translate(exc) from exc
        except GoogleAuthError as exc:  # credentials found at construction but unusable (a token refresh failed)
            raise ConfigError(f"registry {self.url}: Google credentials unusable: {type(exc).__name__}: {exc}") from exc
        except (gexc.RetryError, TimeoutError, ConnectionError, OSError) as exc:
            raise TransientError(f"registry {self.url} is unreachable: {exc}") from exc

    def _translate(self, exc: Exception) -> AppError:
        from google.api_core import exceptions as gexc

        text = str(exc)
        if GUARD_PREFIX in text:
            return Conflict(text.split(GUARD_PREFIX, 1)[1].split(";")[0].split(" at [")[0].strip())
        if any(m in text.lower() for m in _BYTES_LIMIT_MARKERS):
            return ConfigError(
                f"registry {self.url}: a query would bill more than BQ_MAXIMUM_BYTES_BILLED="
                f"{job_options().maximum_bytes_billed} bytes and was refused (does it filter on game_date? "
                f"raise the setting only for a query that must read that much): {text}"
            )
        if isinstance(exc, (gexc.ServerError, gexc.TooManyRequests)) or any(
            m in text.lower() for m in _TRANSIENT_MARKERS
        ):
            return TransientError(f"registry {self.url} failed transiently: {text}")
        if isinstance(exc, gexc.NotFound):
            return MissingTable(f"{text} — run `modelctl migrate` against {self.url}")
        if isinstance(exc, (gexc.Forbidden, gexc.Unauthorized)):
            return ConfigError(f"registry {self.url} refused access (check the service account's roles): {text}")
        if isinstance(exc, gexc.BadRequest):
            return ConfigError(f"registry {self.url} rejected a query (schema out of date? `modelctl migrate`): {text}")
        return TransientError(f"registry {self.url} failed: {text}")  # the default branch

    # -- primitives ----------------------------------------------------------------------
    def query(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        return self._run(sql, params or {})

    def run_atomic(self, statements: Sequence[Statement]) -> None:
        texts, merged = merge_statements(statements)
        body = ";\n".join(t.strip().rstrip(";") for t in texts)
        self._run(f"BEGIN TRANSACTION;\n{body};\nCOMMIT TRANSACTION;", merged)

    def write_frame(self, table: str, frame: Any, delete: Statement) -> None:
        """Run ``delete`` (a complete ``DELETE FROM table …`` from a queries module) and insert
        ``frame`` into ``table``, atomically.

        The frame is loaded (NDJSON load job) into a staging table, then one
        transaction deletes the replaced rows and copies the staging rows in.
        Streaming inserts are avoided on purpose: their buffer blocks DML.
        """
        import io
        import uuid

        from google.cloud import bigquery

        check_delete(table, delete)
        target = self.client.get_table(f"{self.project}.{self.dataset}.{table}")
        staging = f"{self.project}.{self.dataset}._staging_{table}_{uuid.uuid4().hex[:12]}"
        body = _ndjson(frame, {f.name: f.field_type for f in target.schema})
        config = bigquery.LoadJobConfig(
            schema=[f for f in target.schema if f.name in set(frame.columns)],
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition="WRITE_TRUNCATE",
            labels=job_options().labels,
        )
        try:
            self.client.load_table_from_file(io.BytesIO(body.encode()), staging, job_config=config).result()
            columns = ", ".join(frame.columns)
            self.run_atomic(
                [
                    delete,
                    (f"INSERT INTO {table} ({columns}) SELECT {columns} FROM `{staging}`", {}),
                ]
            )
        finally:
            self.client.delete_table(staging, not_found_ok=True)

    def query_frame(self, sql: str, params: Params | None = None) -> Any:
        """A query's result as a pandas DataFrame (no db-dtypes needed)."""
        import pandas as pd

        return pd.DataFrame(self._run(sql, params or {}))

    def apply_migration(
        self, version: int, name: str, statements: Sequence[str], record: Statement | None = None
    ) -> None:
        """Run a migration's statements one by one, then write its ``record``. DDL cannot join a
        transaction here, so each migration is written to be re-applied safely (see the module
        docstring): a run killed between statements leaves no record, and the next run converges."""
        self.client.create_dataset(f"{self.project}.{self.dataset}", exists_ok=True)
        for statement in statements:  # a migration may copy whole tables: its own, higher cap
            self._run(
                qualify_view(statement, self.project, self.dataset), {}, job_options().migration_maximum_bytes_billed
            )
        if record is not None:
            self.run_atomic([record])

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _log_job(rows: Any, options: JobOptions) -> None:
    """One line per job: what it read (the figure the bench README's estimates are held to).

    ``rows`` is ``query_and_wait``'s answer, which carries the job id and bytes processed but not
    the bytes billed (the client does not read them from jobs.query's answer): the line says
    ``unknown`` and ``bytes_billed`` is ``None``; ``INFORMATION_SCHEMA.JOBS`` has them by job id."""
    processed, billed = rows.total_bytes_processed, getattr(rows, "total_bytes_billed", None)
    log.info(
        "bigquery job %s (%s): %s bytes processed, %s bytes billed",
        rows.job_id,
        options.ran_by,
        processed,
        "unknown" if billed is None else billed,
        extra={"job_id": rows.job_id, LABEL_KEY: options.ran_by, "bytes_processed": processed,
               "bytes_billed": billed, "slot_millis": rows.slot_millis,
               "dml_affected_rows": rows.num_dml_affected_rows},
    )  # fmt: skip


def _ndjson(frame: Any, types: dict[str, str]) -> str:
    """Rows as newline-delimited JSON in the forms BigQuery loads: DATE as YYYY-MM-DD,
    TIMESTAMP as ISO 8601 with offset (pandas' own ISO output gives DATEs a time part)."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        kind = types.get(column)
        if kind == "DATE":
            out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
        elif kind == "TIMESTAMP":
            out[column] = pd.to_datetime(out[column], utc=True).map(lambda v: v.isoformat() if pd.notna(v) else None)
        elif isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object)
    return str(out.to_json(orient="records", lines=True))
