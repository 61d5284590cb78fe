"""The registry contract, run on every engine: embedded DuckDB and BigQuery (bqemulator).

Where the emulator cannot do what BigQuery does, the test says so and the path is
covered on DuckDB.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from common.errors import ConfigError, Conflict, InvalidArgument, NotFound
from common.registry.registration import RegistrationService
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.sql import Param, latest_migration_version, migration_files
from common.storage import FileBucket
from common.worker.queries import DELETE_PREDICTIONS
from tests.conftest import LEGACY_NAME, ModelFiles
from tests.support.bqtemplate import url_of
from tests.support.registry import hand_event, store_of


def _register(reg: RegistrationService, data: bytes, name: str) -> str:
    info = reg.bucket.write(name, data)
    return reg.register_object(info.name, info.generation, info.size).record.model_id


def test_migrate_is_idempotent_and_recorded(engine_url: str) -> None:
    store = RegistryStore.open(engine_url)
    clock = RegistryService(store).clock
    assert store.schema_version() == 0
    applied = store.migrate(clock())
    assert applied == [name for _, name, _ in migration_files()]
    assert store.schema_version() == latest_migration_version()
    assert store.migrate(clock()) == []
    store.require_current_schema()


@pytest.mark.emulator
def test_a_copy_of_the_session_template_is_a_fresh_migration(bq_template: Any) -> None:
    """The emulator tests' registries are copies of one migrated dataset (tests/support/bqtemplate.py):
    a copy has the template's tables, columns, modes, partitioning, clustering, migration records
    and views (answering the same query), so each test starts as if it had migrated its own."""
    url = url_of(bq_template.emu, f"copy_{uuid.uuid4().hex[:10]}")
    bq_template.copy_to(url)
    template, copy = RegistryStore.open(url_of(bq_template.emu, bq_template.dataset)), RegistryStore.open(url)

    def shape(store: RegistryStore) -> dict[str, Any]:
        engine: Any = store.engine
        described = {}
        for item in engine.client.list_tables(f"{engine.project}.{engine.dataset}"):
            table = engine.client.get_table(item.reference)
            part = table.time_partitioning
            described[item.table_id] = (
                item.table_type,
                [(f.name, f.field_type, f.mode) for f in table.schema],
                (part.field, part.type_, table.require_partition_filter) if part else None,
                table.clustering_fields,
            )
        return described

    assert shape(copy) == shape(template)
    assert copy.applied_versions() == template.applied_versions() == {v for v, _, _ in migration_files()}
    copy.require_current_schema()
    for view in ("champion_predictions", "model_predictions"):
        sql = f"SELECT * FROM {view} WHERE game_date = '2026-01-01'"
        assert copy.engine.query(sql) == template.engine.query(sql) == []
    assert copy.migrate(datetime.now(UTC)) == []


def test_out_of_date_schema_is_refused_with_the_fix(engine_url: str) -> None:
    store = RegistryStore.open(engine_url)
    with pytest.raises(ConfigError, match="run `modelctl migrate`"):
        store.require_current_schema()
    store.migrate(RegistryService(store).clock(), target=2)
    with pytest.raises(
        ConfigError, match=f"schema version 2, this code needs {latest_migration_version()}: run `modelctl migrate`"
    ):
        store.require_current_schema()


def test_enrichment_backfills_legacy_rows(engine_url: str) -> None:
    """The seed's migration story: legacy rows exist, then 002 adds and backfills the columns."""
    store = RegistryStore.open(engine_url)
    clock = RegistryService(store).clock
    store.migrate(clock(), target=1)
    insert = (
        "INSERT INTO model_registry (model_id, model_path, train_start, train_end, enabled, created_at) "
        "VALUES (@id, 'gs://b/m.cbm', DATE '2025-11-02', DATE '2026-02-15', @enabled, CURRENT_TIMESTAMP())"
    )
    for model_id, enabled in (
        ("catboost_v9_train1102_0215", True),
        ("catboost_v9_q43_train1102_0215", None),
        ("catboost_v12_noveg_train1102_0215", None),
    ):
        store.engine.run_atomic([(insert, {"id": model_id, "enabled": _bool_param(enabled)})])
    store.migrate(clock())
    by_id = {m.model_id: m for m in store.list()}
    legacy = by_id["catboost_v9_train1102_0215"]
    assert (legacy.model_family, legacy.feature_set, legacy.loss_function, legacy.enabled) == (
        "v9_mae",
        "v9",
        "MAE",
        True,
    )
    q43 = by_id["catboost_v9_q43_train1102_0215"]
    assert (q43.model_family, q43.loss_function, q43.quantile_alpha, q43.enabled) == ("v9_q43", "Quantile", 0.43, False)
    assert by_id["catboost_v12_noveg_train1102_0215"].model_family == "v12_noveg_mae"
    assert {m.status for m in by_id.values()} == {"shadow"}


def _bool_param(value: bool | None) -> object:
    from common.sql import Param

    return Param(value, "BOOL")


def test_registration_lands_disabled_with_an_audit_event(
    registration: RegistrationService, model_files: ModelFiles
) -> None:
    result = registration.register_object(*_written(registration, model_files.v9_q43, "models/v9/a.cbm"))
    record = result.record
    assert result.outcome == "registered"
    assert record.model_id == "catboost_v9_q43_train1102_0215"
    assert (record.enabled, record.status, record.model_family, record.quantile_alpha) == (
        False,
        "shadow",
        "v9_q43",
        0.43,
    )
    assert record.sha256 and record.size_bytes == len(model_files.v9_q43)
    assert record.source_bucket == registration.bucket.name and record.source_object == "models/v9/a.cbm"
    events = registration.registry.events(record.model_id)
    assert [(e.action, e.actor, e.after["enabled"]) for e in events] == [("registered", "pytest", False)]


def _written(reg: RegistrationService, data: bytes, name: str) -> tuple[str, str, int]:
    info = reg.bucket.write(name, data)
    return info.name, info.generation, info.size


def test_same_bytes_twice_is_one_model(registration: RegistrationService, model_files: ModelFiles) -> None:
    first = registration.register_object(*_written(registration, model_files.v9_mae, "models/a.cbm"))
    again = registration.register_object("models/a.cbm", first.record.source_generation)
    copy = registration.register_object(*_written(registration, model_files.v9_mae, "models/copy.cbm"))
    assert (again.outcome, copy.outcome) == ("already_registered", "already_registered")
    assert copy.record.model_id == first.record.model_id
    assert len(registration.registry.list()) == 1
    assert len(registration.registry.events()) == 1


def test_same_family_and_dates_get_a_deterministic_suffix(
    registration: RegistrationService, model_files: ModelFiles
) -> None:
    a = _register(registration, model_files.v9_mae, "models/a.cbm")
    b = _register(registration, model_files.v9_mae_other, "models/b.cbm")
    assert a == "catboost_v9_mae_train1102_0215"
    assert b.startswith(a + "_") and len(b) == len(a) + 9
    assert b == a + "_" + registration.registry.get(b).sha256[:8]  # type: ignore[index]


def test_legacy_file_name_keeps_the_legacy_id(registration: RegistrationService, model_files: ModelFiles) -> None:
    record = registration.register_object(*_written(registration, model_files.legacy_v9, f"v9/{LEGACY_NAME}")).record
    assert record.model_id == "catboost_v9_train1102_0215"
    assert (record.model_family, record.train_start, record.train_end) == (
        "v9_mae",
        date(2025, 11, 2),
        date(2026, 2, 15),
    )


def test_lifecycle_single_champion_and_history(registration: RegistrationService, model_files: ModelFiles) -> None:
    registry = registration.registry
    a = _register(registration, model_files.v9_mae, "a.cbm")
    b = _register(registration, model_files.v12_mae, "b.cbm")
    with pytest.raises(Conflict, match="disabled; only an enabled model can be promoted"):
        registry.promote(a)
    registry.enable(a)
    registry.promote(a, reason="first champion")
    registry.enable(b)
    with pytest.raises(Conflict, match="evidence is insufficient"):  # no comparison: only by force
        registry.promote(b, reason="better")
    registry.promote(b, reason="better", force=True)
    models = {m.model_id: m for m in registry.list()}
    assert [m.model_id for m in models.values() if m.is_champion] == [b]
    assert models[a].status == "shadow" and models[a].enabled
    assert registry.champion_at(datetime.now(UTC).date()) == b
    assert registry.champion_at(date(2020, 1, 1)) is None
    actions = [(e.model_id, e.action) for e in registry.events()]
    assert actions[-2:] == [(a, "demoted"), (b, "promoted")]
    with pytest.raises(Conflict, match="champion; promote another model before disabling"):
        registry.disable(b)
    with pytest.raises(Conflict, match="champion; promote another model before retiring"):
        registry.retire(b, "no")


def test_the_registry_version_grows_with_every_change_and_only_then(
    registration: RegistrationService, model_files: ModelFiles
) -> None:
    """What the serving manifest records: the audit trail's length and its greatest event id."""
    registry = registration.registry
    assert (registry.version().events, registry.version().last_event_id) == (0, None)
    a = _register(registration, model_files.v9_mae, "a.cbm")
    registry.enable(a)
    version = registry.version()
    assert version.events == 2 and version.last_event_id == max(e.event_id for e in registry.events())
    registry.enable(a)  # already enabled: no change, no event, same version
    assert registry.version() == version
    registry.promote(a)
    assert registry.version().events == 3 and registry.version() != version


def test_a_family_objective_is_append_only_and_audited(
    registration: RegistrationService, model_files: ModelFiles
) -> None:
    registry = registration.registry
    a = _register(registration, model_files.v9_mae, "a.cbm")
    family = registry.get(a).model_family
    assert registry.objectives() == {}  # the default, mae, is never written
    assert registry.set_objective(family, "CLV ", reason="we bet it") == "clv"
    assert registry.set_objective(family, "clv", reason="again") == "clv"  # unchanged: no event
    assert registry.set_objective(family, "roi", reason="money only") == "roi"
    assert registry.objectives() == {family: "roi"}  # the latest row is in force
    events = registry.events(f"family_{family}")
    assert [(e.action, e.reason, e.actor) for e in events] == [
        ("objective", "we bet it", registry.actor),
        ("objective", "money only", registry.actor),
    ]
    with pytest.raises(InvalidArgument, match="choose one of mae, clv, roi"):
        registry.set_objective(family, "hits", reason="x")
    with pytest.raises(NotFound, match="no model of family"):
        registry.set_objective("v12_q43", "clv", reason="x")
    assert registry.objectives() == {family: "roi"}  # refusals wrote nothing


def test_retired_never_serves_until_reregistered(registration: RegistrationService, model_files: ModelFiles) -> None:
    registry = registration.registry
    a = _register(registration, model_files.v9_q43, "a.cbm")
    registry.enable(a)
    with pytest.raises(InvalidArgument, match="needs a reason"):
        registry.retire(a, " ")
    retired = registry.retire(a, "underperformed champion by 5pp")
    assert (retired.status, retired.enabled, retired.retired_reason) == (
        "retired",
        False,
        "underperformed champion by 5pp",
    )
    with pytest.raises(Conflict, match="retired models never serve again"):
        registry.enable(a)
    with pytest.raises(Conflict, match="retired and cannot be promoted"):
        registry.promote(a)
    again = registration.register_object(*_written(registration, model_files.v9_q43, "again.cbm"))
    assert again.outcome == "reregistered"
    assert (again.record.model_id, again.record.status, again.record.enabled) == (a, "shadow", False)
    assert again.record.source_object == "again.cbm"


def test_stale_writes_are_refused_whole(registration: RegistrationService, model_files: ModelFiles) -> None:
    """Optimistic concurrency: a change prepared on an old row version writes nothing."""
    registry = registration.registry
    a = _register(registration, model_files.v9_mae, "a.cbm")
    stale = registry.get(a)
    registry.enable(a)
    events_before = len(registry.events())
    after = replace(stale, status="champion", enabled=True, updated_at=datetime.now(UTC))
    event = hand_event("promoted", stale, after, "stale")
    with pytest.raises(Conflict, match="changed while this change was prepared"):
        store_of(registry).apply_changes([(stale, after)], [event])
    assert registry.get(a).status == "shadow"
    assert len(registry.events()) == events_before


def test_parameters_never_become_sql(store: RegistryStore) -> None:
    hostile = "x' OR '1'='1'; DROP TABLE model_registry; --"
    assert store.find(hostile) is None
    assert store.list(family=hostile) == []
    assert store.schema_version() == latest_migration_version()


def test_unknown_model_is_not_found(registry: RegistryService) -> None:
    with pytest.raises(NotFound, match="no model 'catboost_nope'"):
        registry.get("catboost_nope")


def test_list_filters(registration: RegistrationService, model_files: ModelFiles) -> None:
    a = _register(registration, model_files.v9_mae, "a.cbm")
    _register(registration, model_files.v12_noveg_q45, "b.cbm")
    registration.registry.enable(a)
    assert [m.model_id for m in registration.registry.list(enabled=True)] == [a]
    assert [m.model_family for m in registration.registry.list(family="v12_noveg_q45")] == ["v12_noveg_q45"]
    assert len(registration.registry.list()) == 2


def test_events_filter_by_time(registration: RegistrationService, model_files: ModelFiles) -> None:
    _register(registration, model_files.v9_mae, "a.cbm")
    assert registration.registry.events(until=datetime.now(UTC) - timedelta(days=1)) == []
    assert len(registration.registry.events(until=datetime.now(UTC) + timedelta(seconds=1))) == 1


def test_bucket_isolated_per_test(bucket: FileBucket) -> None:
    assert bucket.list() == []


def test_a_migration_merged_late_is_still_applied(engine_url: str) -> None:
    """A database at the newest version that lacks an older number gets it on `migrate`."""
    store = RegistryStore.open(engine_url)
    clock = RegistryService(store).clock
    store.migrate(clock())
    store.engine.run_atomic([("DELETE FROM schema_migrations WHERE version = @v", {"v": 3})])
    with pytest.raises(ConfigError, match="lacks migration\\(s\\) 003: run `modelctl migrate`"):
        store.require_current_schema()
    assert store.migrate(clock()) == ["003_create_model_registry_events"]
    store.require_current_schema()


def test_write_frame_replaces_rows_atomically(store: RegistryStore) -> None:
    """Bulk rows (predictions, grades, season data) go in with one replace per key."""
    import pandas as pd

    def rows(day: date, systems: list[str], value: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "game_date": [day] * len(systems),
                "game_id": ["g1"] * len(systems),
                "player_id": list(range(len(systems))),
                "system_id": pd.Categorical(systems),
                "role": ["shadow"] * len(systems),
                "predicted_points": [value] * len(systems),
                "line": [None] * len(systems),
                "created_at": [datetime.now(UTC)] * len(systems),
            }
        )

    engine = store.engine
    d1, d2 = date(2026, 1, 15), date(2026, 1, 16)

    def delete(day: date, systems: list[str]) -> tuple[str, dict[str, object]]:
        return DELETE_PREDICTIONS, {"game_date": day, "system_ids": Param(systems, "ARRAY")}

    engine.write_frame("player_prop_predictions", rows(d1, ["a", "b"], 10.0), delete(d1, ["a", "b"]))
    engine.write_frame("player_prop_predictions", rows(d2, ["a"], 20.0), delete(d2, ["a"]))
    engine.write_frame("player_prop_predictions", rows(d1, ["a", "c"], 30.0), delete(d1, ["a", "c"]))
    got = engine.query_frame(
        "SELECT game_date, system_id, predicted_points, line FROM player_prop_predictions ORDER BY game_date, system_id"
    )
    assert [(str(r.game_date)[:10], r.system_id, r.predicted_points) for r in got.itertuples()] == [
        ("2026-01-15", "a", 30.0),
        ("2026-01-15", "b", 10.0),  # not in the second write for that date: kept
        ("2026-01-15", "c", 30.0),
        ("2026-01-16", "a", 20.0),
    ]
    assert got["line"].isna().all()
    with pytest.raises(InvalidArgument, match="needs a DELETE FROM player_prop_predictions"):
        engine.write_frame("player_prop_predictions", rows(d1, ["a"], 1.0), ("DELETE FROM worker_acks WHERE TRUE", {}))
