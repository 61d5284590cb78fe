"""A migrated embedded registry for fixtures: a copy of one file migrated once per process.

Migrating a new DuckDB registry transpiles and runs every numbered migration (~0.7 s of CPU);
hundreds of tests start from one, so the first migration's file is kept and copied (~0.03 s).
The copy is followed by ``migrate`` all the same, which finds nothing to do: a copy that lagged
the migrations would be brought up to date, not trusted. Tests *about* migrating (the contract
suite, ``modelctl migrate``) still migrate a fresh file themselves.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from common.registry.service import RegistryService
from common.registry.store import RegistryStore


@functools.cache
def _template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="migrated-registry-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "registry.duckdb"
    store = RegistryStore.open(f"duckdb://{path}")
    store.migrate(RegistryService(store).clock())
    store.close()
    return path


def migrated_store(url: str) -> RegistryStore:
    """The registry at ``url``, migrated: a ``duckdb://`` file not created yet starts as a copy of
    the process's migrated template; anything else (an existing file, BigQuery) is migrated."""
    if url.startswith("duckdb://"):
        path = Path(url.removeprefix("duckdb://"))
        if not path.exists() and path.parent.is_dir():
            shutil.copyfile(_template(), path)
    store = RegistryStore.open(url)
    store.migrate(RegistryService(store).clock())
    return store
