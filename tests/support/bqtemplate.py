"""A registry migrated once per session on bqemulator, copied into each test's own dataset.

Migrating a fresh dataset on the emulator runs every numbered migration (~90 jobs: several
seconds of CPU per test); copying the migrated tables with copy jobs and re-creating the views
costs a fraction of that. The copy is a new dataset, so tests stay isolated exactly as before.
``tests/test_registry_contract.py`` proves a copy has the same tables, schemas, partitioning,
views and migration records as a dataset migrated from scratch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlglot
from sqlglot import exp

from common.registry.store import RegistryStore
from common.sql import migration_files, qualify_view, split_statements


def view_statements() -> list[str]:
    """The newest ``CREATE VIEW`` of each view in the migrations, in the order they first appear."""
    latest: dict[str, str] = {}
    for _version, _name, path in migration_files():
        for statement in split_statements(path.read_text()):
            parsed = sqlglot.parse_one(statement, read="bigquery")
            if isinstance(parsed, exp.Create) and str(parsed.args.get("kind", "")).upper() == "VIEW":
                latest[parsed.this.name] = statement  # a later migration replaces the view's body
    return list(latest.values())


@dataclass(frozen=True)
class MigratedTemplate:
    """A dataset at the newest migration on the emulator ``emu``; :meth:`copy_to` clones it."""

    emu: Any  # tests.support.bqemu.BqEmulator
    dataset: str
    tables: tuple[str, ...]

    @classmethod
    def build(cls, emu: Any) -> MigratedTemplate:
        dataset = f"template_{uuid.uuid4().hex[:10]}"
        store = RegistryStore.open(url_of(emu, dataset))
        try:
            store.migrate(datetime.now(UTC))
            client = store.engine.client  # type: ignore[attr-defined]
            listed = client.list_tables(f"{emu.project}.{dataset}")
            tables = tuple(t.table_id for t in listed if t.table_type == "TABLE")
        finally:
            store.close()
        return cls(emu, dataset, tables)

    def copy_to(self, url: str) -> None:
        """Make the (absent) dataset of ``url`` a copy of the template: tables by copy job, with
        their rows (the migration records), then the views, qualified with the new dataset."""
        store = RegistryStore.open(url)
        engine = store.engine
        try:
            client = engine.client  # type: ignore[attr-defined]
            project, dataset = engine.project, engine.dataset  # type: ignore[attr-defined]
            client.create_dataset(f"{project}.{dataset}")
            for table in self.tables:
                client.copy_table(f"{project}.{self.dataset}.{table}", f"{project}.{dataset}.{table}").result()
            for statement in view_statements():
                engine.query(qualify_view(statement, project, dataset))
        finally:
            store.close()


def url_of(emu: Any, dataset: str) -> str:
    return f"bigquery://{emu.project}/{dataset}?endpoint={emu.endpoint}"
