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

from common.data.season import SeasonData
from common.data.store import write_season
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.sql import open_engine


@functools.cache
def _folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="migrated-registry-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@functools.cache
def _template() -> Path:
    path = _folder() / "registry.duckdb"
    store = RegistryStore.open(f"duckdb://{path}")
    store.migrate(RegistryService(store).clock())
    store.close()
    return path


def _new_file(url: str) -> Path | None:
    """The file of a ``duckdb://`` URL that does not exist yet, its folder made (as ``migrate``
    makes it); None for any other URL or an existing file."""
    path = Path(url.removeprefix("duckdb://"))
    if not url.startswith("duckdb://") or path.exists():
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # migrate reports it
    return path


def migrated_store(url: str) -> RegistryStore:
    """The registry at ``url``, migrated: a ``duckdb://`` file not created yet starts as a copy of
    the process's migrated template; anything else (an existing file, BigQuery) is migrated."""
    path = _new_file(url)
    if path is not None:
        shutil.copyfile(_template(), path)
    store = RegistryStore.open(url)
    store.migrate(RegistryService(store).clock())
    return store


# id(season) -> (the season, kept alive so that its id is not reused; the filled file)
_WITH_SEASON: dict[int, tuple[SeasonData, Path]] = {}


def migrated_with_season(url: str, season: SeasonData) -> None:
    """The registry at ``url`` migrated with ``season`` written into its season tables. A new
    ``duckdb://`` file is a copy of one filled earlier in this process with the same season object
    (writing a season is ~1 s of CPU); otherwise it is migrated and the season written."""
    path = _new_file(url)
    cached = _WITH_SEASON.get(id(season))
    if path is not None and cached is not None and cached[0] is season:
        shutil.copyfile(cached[1], path)
        return
    migrated_store(url).close()
    write_season(open_engine(url), season)
    if path is not None:  # closed after each operation: the file holds every row (no WAL left)
        filled = _folder() / f"season-{len(_WITH_SEASON)}.duckdb"
        shutil.copyfile(path, filled)
        _WITH_SEASON[id(season)] = (season, filled)
