"""Migration 010 (partition and cluster the growing tables by game_date) on all three targets.

* BigQuery: the statements ``modelctl migrate`` sends carry each table's PARTITION BY, CLUSTER BY
  and require_partition_filter (the spec below, written once here and checked against the file);
* bqemulator: the migration runs on a registry with rows in every table; the rows, the schema
  (NOT NULL included) survive, the emulator reports the daily partitioning it records, and no
  aside copy is left;
* DuckDB: sqlglot transpiles the partitioning away and the same statements recreate each table
  as it was, rows and schema; a re-run, also one interrupted half-way, converges.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import sqlglot
from sqlglot import exp

from common.registry.store import RegistryStore
from common.sql import migration_files, split_statements
from common.sql_duckdb import transpile

NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)
VERSION = 10
# table → (partition expression, clustering columns, require_partition_filter)
SPEC = {
    "player_prop_predictions": ("game_date", ["system_id", "player_id"], True),
    "prediction_accuracy": ("game_date", ["system_id", "player_id"], True),
    "model_performance_daily": ("DATE_TRUNC(game_date, MONTH)", ["system_id"], False),
    "player_games": ("DATE_TRUNC(game_date, MONTH)", ["player_id", "game_id"], False),
    "betting_lines": ("DATE_TRUNC(game_date, MONTH)", ["player_id", "game_id"], False),
}
D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def migration() -> tuple[str, list[str]]:
    (name, path) = next((n, p) for v, n, p in migration_files() if v == VERSION)
    return name, split_statements(path.read_text())


def _create_spec(statement: exp.Create) -> tuple[str, list[str], bool]:
    partition = statement.find(exp.PartitionedByProperty)
    cluster = statement.find(exp.ClusterProperty)
    options = {p.name.lower(): p.args["value"].sql() for p in statement.find_all(exp.Property) if "value" in p.args}
    return (
        partition.this.sql("bigquery") if partition else "",
        [c.sql("bigquery") for c in cluster.expressions] if cluster else [],
        options.get("require_partition_filter") == "TRUE",
    )


def test_the_statements_sent_to_bigquery_partition_and_cluster_every_table() -> None:
    _name, statements = migration()
    creates = [sqlglot.parse_one(s, read="bigquery") for s in statements]
    specs = {
        c.find(exp.Table).name: _create_spec(c)  # type: ignore[union-attr]
        for c in creates
        if isinstance(c, exp.Create) and c.find(exp.PartitionedByProperty)
    }
    assert specs == SPEC
    for statement in statements:  # the DuckDB form of the same statements has no partitioning left
        duck = re.sub(r"/\*.*?\*/", "", transpile(statement), flags=re.S)  # comments ride along
        assert not any(word in duck.upper() for word in ("PARTITION BY", "CLUSTER BY", "OPTIONS"))


def sample() -> dict[str, pd.DataFrame]:
    """Two rows per table, every NOT NULL column filled."""
    keys = {"game_id": ["g1", "g2"], "game_date": [D1, D2], "player_id": [1, 2]}
    model = {"system_id": ["m1", "m2"], "role": ["champion", "shadow"]}
    return {
        "player_prop_predictions": pd.DataFrame(
            {**keys, **model, "predicted_points": [20.5, 11.0], "line": [19.5, 12.5]}
        ),
        "prediction_accuracy": pd.DataFrame(
            {
                **keys,
                **model,
                "predicted_points": [20.5, 11.0],
                "actual_points": [22, 9],
                "absolute_error": [1.5, 2.0],
                "is_push": [False, False],
                "is_correct": [True, None],
                "graded_at": [NOW, NOW],
            }
        ),  # fmt: skip
        "model_performance_daily": pd.DataFrame(
            {
                "game_date": [D1, D2],
                **model,
                **{
                    c: [1, 0]
                    for c in (
                        "n",
                        "n_bets",
                        "n_hits",
                        "n_pushes",
                        "n_pass",
                        "n_edge_3plus",
                        "n_hits_edge_3plus",
                        "n_pending",
                        "n_void",
                    )
                },
                "in_sample": [False, True],
                "graded_at": [NOW, NOW],
            }
        ),  # fmt: skip
        "player_games": pd.DataFrame(
            {
                **keys,
                "team_id": ["A", "B"],
                "opponent_team_id": ["B", "A"],
                "is_home": [True, False],
                "starter": [True, False],
                "minutes": [30.0, 12.5],
                "points": [22, 9],
                **{c: [5, 2] for c in ("fga", "fgm", "fg3a", "fg3m", "fta", "ftm")},
                "status": ["played", "played"],
            }
        ),  # fmt: skip
        "betting_lines": pd.DataFrame({**keys, "opening_line": [19.0, 12.0], "closing_line": [19.5, 12.5]}),
    }


def read_back(store: RegistryStore, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    # a constant game_date filter: the two big tables require one after 010
    frame = store.engine.query_frame(
        f"SELECT {', '.join(columns)} FROM {table} WHERE game_date >= @since ORDER BY game_date",
        {"since": date(1900, 1, 1)},
    )
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)]


def schema(store: RegistryStore, url: str) -> dict[str, list[tuple[str, str, bool]]]:
    """(column, type, nullable) per table, in order, from the engine's own catalog."""
    if url.startswith("duckdb://"):
        with duckdb.connect(url.removeprefix("duckdb://"), read_only=True) as con:
            rows = con.execute(
                "SELECT table_name, column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
                "ORDER BY table_name, ordinal_position"
            ).fetchall()
        return {t: [(c, d, n) for tt, c, d, n in rows if tt == t] for t in {r[0] for r in rows}}
    engine: Any = store.engine
    tables = {t.table_id for t in engine.client.list_tables(f"{engine.project}.{engine.dataset}")}
    return {
        t: [
            (f.name, f.field_type, f.mode != "REQUIRED")
            for f in engine.client.get_table(f"{engine.dataset}.{t}").schema
        ]
        for t in tables
    }


def test_migration_010_keeps_rows_and_schema(engine_url: str) -> None:
    store = RegistryStore.open(engine_url)
    store.migrate(NOW, target=VERSION - 1)
    rows = sample()
    for table, frame in rows.items():
        store.engine.write_frame(table, frame, (f"DELETE FROM {table} WHERE FALSE", {}))
    before = schema(store, engine_url)
    expected = {t: read_back(store, t, list(f.columns)) for t, f in rows.items()}

    assert store.migrate(NOW, target=VERSION) == [migration()[0]]

    after = schema(store, engine_url)
    assert after == before  # same tables (no __v010 copy left), columns, types and NOT NULL
    assert {t: read_back(store, t, list(f.columns)) for t, f in rows.items()} == expected
    if engine_url.startswith("bigquery://"):  # what bqemulator records of the partitioning
        engine: Any = store.engine
        for table in ("player_prop_predictions", "prediction_accuracy"):
            partitioning = engine.client.get_table(f"{engine.dataset}.{table}").time_partitioning
            assert (partitioning.field, partitioning.type_, partitioning.require_partition_filter) == (
                "game_date",
                "DAY",
                True,
            )
    store.close()


def test_a_rerun_of_010_converges_on_duckdb(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'rerun.duckdb'}"
    store = RegistryStore.open(url)
    store.migrate(NOW, target=VERSION - 1)
    rows = sample()
    for table, frame in rows.items():
        store.engine.write_frame(table, frame, (f"DELETE FROM {table} WHERE FALSE", {}))
    expected = {t: read_back(store, t, list(f.columns)) for t, f in rows.items()}
    name, statements = migration()
    # interrupted after the copy back of the first table (before its aside copy was dropped), then run whole
    stop = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO player_prop_predictions ")) + 1
    store.engine.apply_migration(VERSION, name, statements[:stop])
    store.migrate(NOW, target=VERSION)
    store.engine.apply_migration(VERSION, name, statements)  # and once more after it was recorded
    assert {t: read_back(store, t, list(f.columns)) for t, f in rows.items()} == expected
    assert not [t for t in schema(store, url) if t.endswith("__v010")]


def test_016_new_columns_are_written_by_write_frame_and_survive_a_rerun(engine_url: str) -> None:
    """016 adds nullable columns with ADD COLUMN IF NOT EXISTS: the table's schema (what a load job
    writes through) has them on both engines, rows written with them read back, and re-applying
    the migration (its record lost) changes nothing."""
    store = RegistryStore.open(engine_url)
    store.migrate(NOW, target=16)
    frame = sample()["player_prop_predictions"].head(2).copy()
    frame["as_of"] = pd.Timestamp("2026-02-20 21:00", tz="UTC")
    frame["over_price"] = [-115, 105]
    frame["under_price"] = [-105, -125]
    frame["line_captured_at"] = pd.Timestamp("2026-02-20 20:40", tz="UTC")
    store.engine.write_frame("player_prop_predictions", frame, ("DELETE FROM player_prop_predictions WHERE FALSE", {}))
    columns = ["game_date", "player_id", "over_price", "under_price"]
    expected = read_back(store, "player_prop_predictions", columns)
    assert sorted(row[1:] for row in expected) == sorted(zip(frame.player_id, [-115, 105], [-105, -125], strict=True))
    name, statements = next((n, split_statements(p.read_text())) for v, n, p in migration_files() if v == 16)
    store.engine.apply_migration(16, name, statements)
    assert read_back(store, "player_prop_predictions", columns) == expected
    if engine_url.startswith("bigquery://"):
        assert {"as_of", "over_price", "under_price", "line_captured_at"} <= {
            c for c, _, _ in schema(store, engine_url)["player_prop_predictions"]
        }
    store.close()
