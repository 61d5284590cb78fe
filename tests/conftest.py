"""Shared fixtures: isolated environment, real model files, registries on every engine."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from common import runtime, sql_cache
from common.registry.modelfile import ModelCard
from common.registry.registration import RegistrationService
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.storage import FileBucket
from tests.support.demo import demo_run  # noqa: F401  (one demo run per session, shared)
from tests.support.migrated import migrated_store
from tests.support.tiny import tiny_card, tiny_model_bytes

ENV_VARS = (
    "MODEL_REGISTRY_URL",
    "MODEL_BUCKET_URL",
    "SLACK_WEBHOOK_URL",
    "EVENT_BUS_URL",
    "GOOGLE_CLOUD_PROJECT",
    "PUBSUB_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
    "MAX_EVENT_AGE_SECONDS",
    "MAX_MODEL_BYTES",
    "MODELCTL_ACTOR",
    "REMINDER_MIN_DAYS",
    "REMINDER_LEVEL_DAYS",
    "REMINDER_SILENT_WHEN_CLEAR",
    "MODEL_CACHE_DIR",
    "SQL_CACHE_DIR",
    "MANIFEST_POLL_SECONDS",
    "WORKER_RETRY_SECONDS",
    "REGISTRY_CHECK_SECONDS",
    "FUSED_SCORING",
    "NOTIFY_LEASE_SECONDS",
    "SLACK_TIMEOUT_SECONDS",
    "SLACK_RETRIES",
    "SLACK_BACKOFF_SECONDS",
    "PICKS_ALERT_TOP_N",
    "PREDICT_LEAD_MINUTES",
)


@pytest.fixture(scope="session")
def shared_sql_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``SQL_CACHE_DIR`` for the whole run, both xdist workers: a translation depends only on
    the statement, sqlglot and ``sql_duckdb.py`` (``common.sql_cache``) and files land whole by
    rename, so the ~200 ``modelctl`` processes of the suite transpile each statement once, not
    once per test. A test about the cache itself points ``SQL_CACHE_DIR`` at its own folder."""
    return tmp_path_factory.getbasetemp().parent / "sql-cache"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_sql_cache: Path) -> Path:
    """Every test starts from its own registry and bucket, never the developer's .local/."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODEL_REGISTRY_URL", f"duckdb://{tmp_path / 'registry.duckdb'}")
    monkeypatch.setenv("MODEL_BUCKET_URL", f"file://{tmp_path / 'bucket'}")
    monkeypatch.setenv("MODEL_CACHE_DIR", str(tmp_path / "model-cache"))
    monkeypatch.setenv("SQL_CACHE_DIR", str(shared_sql_cache))
    monkeypatch.setattr(sql_cache, "_folder", None)  # an in-process `modelctl` turned it on for its test only
    monkeypatch.setenv("MODELCTL_ACTOR", "pytest")
    runtime.reset()  # no engine, bucket or bus built for another test's environment
    return tmp_path


@pytest.fixture(autouse=True)
def root_log_level() -> Iterator[None]:
    """The CLI sets the root level when called in-process; no test inherits another's level."""
    root = logging.getLogger()
    saved = root.level
    root.setLevel(logging.INFO)
    yield
    root.setLevel(saved)


@dataclass(frozen=True)
class ModelFiles:
    """Real .cbm bytes of several families, trained once per session."""

    v9_mae: bytes
    v9_mae_other: bytes  # same family and dates, different bytes
    v9_q43: bytes
    v12_mae: bytes
    v12_noveg_q45: bytes
    legacy_v9: bytes  # no card: relies on the legacy file-name convention

    @staticmethod
    def card(**kw: object) -> ModelCard:
        return tiny_card(**kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def model_files() -> ModelFiles:
    return ModelFiles(
        v9_mae=tiny_model_bytes(tiny_card("v9"), seed=1),
        v9_mae_other=tiny_model_bytes(tiny_card("v9"), seed=2),
        v9_q43=tiny_model_bytes(tiny_card("v9", "Quantile", 0.43), seed=3),
        v12_mae=tiny_model_bytes(tiny_card("v12"), seed=4),
        v12_noveg_q45=tiny_model_bytes(
            tiny_card("v12_noveg", "Quantile", 0.45, date(2025, 12, 1), date(2026, 2, 28)), seed=5
        ),
        legacy_v9=tiny_model_bytes(None, seed=6),
    )


LEGACY_NAME = "catboost_v9_33f_train20251102-20260215_20260216_123456.cbm"


# -- engines ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def bq_emulator() -> Iterator[object]:
    from tests.support.bqemu import is_available, start_bqemulator

    ok, why = is_available()
    if not ok:
        pytest.skip(f"bqemulator not available: {why} (run `make test`, which installs it)")
    emu = start_bqemulator()
    try:
        yield emu
    finally:
        emu.stop()


def _registry_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "duckdb":
        return f"duckdb://{tmp_path / 'contract.duckdb'}"
    emu = request.getfixturevalue("bq_emulator")
    dataset = f"t_{uuid.uuid4().hex[:10]}"
    return f"bigquery://{emu.project}/{dataset}?endpoint={emu.endpoint}"  # type: ignore[attr-defined]


@pytest.fixture(params=["duckdb", pytest.param("bigquery", marks=pytest.mark.emulator)])
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, un-migrated registry URL on each engine (the contract suite runs on both)."""
    return _registry_url(request.param, tmp_path, request)


@pytest.fixture(scope="session")
def bq_template(bq_emulator: object) -> object:
    """One dataset migrated per session (per xdist worker), copied for each test that needs a
    migrated registry on the emulator (a fraction of a fresh migration's cost)."""
    from tests.support.bqtemplate import MigratedTemplate

    return MigratedTemplate.build(bq_emulator)


@pytest.fixture
def store(engine_url: str, request: pytest.FixtureRequest) -> Iterator[RegistryStore]:
    """A migrated registry on each engine; on the emulator a copy of the session's template, on
    DuckDB a copy of the process's (tests/support/migrated.py); ``migrate`` still runs (a no-op)."""
    if engine_url.startswith("bigquery://"):
        request.getfixturevalue("bq_template").copy_to(engine_url)
    store = migrated_store(engine_url)
    yield store
    store.close()


@pytest.fixture
def registry(store: RegistryStore) -> RegistryService:
    return RegistryService(store, actor="pytest")


@pytest.fixture
def bucket(tmp_path: Path) -> FileBucket:
    return FileBucket(f"file://{tmp_path / 'bucket'}")


@pytest.fixture
def registration(registry: RegistryService, bucket: FileBucket) -> RegistrationService:
    return RegistrationService(registry, bucket, max_bytes=2 * 1024 * 1024)


@pytest.fixture
def duck_registry(tmp_path: Path) -> RegistryService:
    """A migrated registry on the embedded engine only."""
    store = migrated_store(f"duckdb://{tmp_path / 'registry.duckdb'}")
    return RegistryService(store, actor="pytest")


@pytest.fixture
def duck_registration(duck_registry: RegistryService, bucket: FileBucket) -> RegistrationService:
    return RegistrationService(duck_registry, bucket, max_bytes=2 * 1024 * 1024)
