"""The season tables (``teams``, ``players``, ``games``, ``player_games``, ``betting_lines``,
``betting_line_snapshots``).

They live in the registry's database (``MODEL_REGISTRY_URL``, migrations 006, 016, 018) and
hold seasons of history: :func:`write_season` replaces one season's rows in every table (each
table in one transaction) and leaves the other seasons alone; :func:`load_season` reads every
season. Both refuse data that fails :func:`common.data.validate.check_season`, listing every
reason. Reads go through the engine's ``query_frame`` with
BigQuery SQL written once here, and come back with the generator's dtypes (dates
as ``datetime64`` at midnight), so training and prediction see the same frames
whether the season was generated a second ago or loaded from BigQuery.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from common.data.queries import DATA_RANGE, LOAD, REPLACE_SEASON, TABLES
from common.data.season import SeasonData, season_dates
from common.data.validate import check_season
from common.errors import ConfigError, InvalidArgument, MissingTable, NotFound
from common.sql import Engine, engine_session

log = logging.getLogger(__name__)

# Written in this order so a reader never sees box scores without their schedule.
WRITE_ORDER = ("teams", "players", "games", "player_games", "betting_line_snapshots", "betting_lines")
GENERATE_COMMAND = "modelctl data generate --season 2025-26 --seed 7"
NO_DATA_HINT = f"run `{GENERATE_COMMAND}`"


@dataclass(frozen=True)
class DataRange:
    """What season data the database holds: dates of played games and row counts."""

    season: str  # the latest season
    first_date: date
    last_date: date
    played: int
    lines: int
    seasons: int = 1


PRODUCTION_SCHEMES = ("bigquery://",)
TIMESTAMPS = {"tip_off", "captured_at"}


def refuse_production(registry_url: str, into_production: bool) -> None:
    """The rule: synthetic season data never replaces a production registry's tables by accident."""
    if registry_url.startswith(PRODUCTION_SCHEMES) and not into_production:
        raise InvalidArgument(
            f"refusing to write a synthetic season into the production registry {registry_url}: it would replace "
            "the real season tables; pass --i-know-this-is-production to do it anyway"
        )


def write_season(engine: Engine, season: SeasonData, into_production: bool = False) -> dict[str, int]:
    """Replace season ``season.season``'s rows of every season table with ``season``'s frames (other
    seasons stay); return rows written per table.

    The data is validated first (``InvalidData`` with every reason; nothing is written). A
    synthetic season replaces real box scores and lines, so it never lands in a production
    registry (``bigquery://``) unless ``into_production`` says so on purpose.
    """
    refuse_production(engine.url, into_production)
    check_season(season, f"season {season.season}")
    first, last = season_dates(season.season)
    params = {"season": season.season, "first_date": first, "last_date": last}
    written = {}
    for table in WRITE_ORDER:
        frame = _for_write(table, getattr(season, table))
        delete = REPLACE_SEASON[table]
        engine.write_frame(table, frame, (delete, {k: v for k, v in params.items() if f"@{k}" in delete}))
        written[table] = len(frame)
        log.info("wrote %d rows to %s", len(frame), table, extra={"table": table, "rows": len(frame)})
    return written


def load_season(engine: Engine) -> SeasonData:
    """Read every season in the season tables as one :class:`SeasonData` labelled with the latest
    season (``NotFound`` when they are empty, ``ConfigError`` naming the commands to run when the
    registry has no season tables, ``InvalidData`` listing every problem of data that fails the
    schema check)."""
    try:
        with engine_session(engine.url):  # one connection for every table, not one per table
            frames = {table: _read(engine, table) for table in TABLES}
    except MissingTable:
        raise ConfigError(
            f"no season tables in {engine.url}: run `modelctl migrate`, then `{GENERATE_COMMAND}`"
        ) from None
    if frames["games"].empty or frames["player_games"].empty:
        raise NotFound(f"no season data in {engine.url}: {NO_DATA_HINT}")
    season = SeasonData(season=str(frames["games"]["season"].max()), **frames)
    check_season(season, f"the season data in {engine.url}")
    return season


def data_range(engine: Engine) -> DataRange:
    """First and last date with played games (the latest data date), without loading the season."""
    row = engine.query(DATA_RANGE)[0]
    if not row["played"]:
        raise NotFound(f"no played games in {engine.url}: {NO_DATA_HINT}")
    return DataRange(
        season=str(row["season"]),
        first_date=_as_date(row["first_date"]),
        last_date=_as_date(row["last_date"]),
        played=int(row["played"]),
        lines=int(row["lines"]),
        seasons=int(row["seasons"] or 1),
    )


def season_fingerprint(season: SeasonData) -> str:
    """A sha256 over every table in canonical row order: equal for equal data, whatever the engine."""
    digest = hashlib.sha256(season.season.encode())
    for table, (columns, order) in TABLES.items():
        frame = _canonical(getattr(season, table).loc[:, list(columns)], [c.strip() for c in order.split(",")])
        digest.update(table.encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _canonical(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    for column in frame.columns:
        if column == "game_date":
            frame[column] = _dates(frame[column])
        elif frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].astype(str)
    return frame


def _for_write(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The table's columns, dates as ``YYYY-MM-DD`` text.

    Text is what a DATE column accepts on both engines: DuckDB casts it on insert, and
    a BigQuery NDJSON load expects ``YYYY-MM-DD`` for a DATE, not the ``…T00:00:00`` form pandas writes.
    """
    out = frame.loc[:, list(TABLES[table][0])].copy()
    if "game_date" in out.columns:
        out["game_date"] = _dates(out["game_date"]).dt.strftime("%Y-%m-%d")
    for column in TIMESTAMPS & set(out.columns):
        out[column] = pd.to_datetime(out[column], utc=True)
    return out


def _read(engine: Engine, table: str) -> pd.DataFrame:
    columns = TABLES[table][0]
    frame = engine.query_frame(LOAD[table])
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = frame.loc[:, list(columns)].reset_index(drop=True)
    return typed(frame)


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The generator's dtypes: datetime64 dates, int64 counts, bool flags, strings."""
    for column in frame.columns:
        values = frame[column]
        if column == "game_date":
            frame[column] = _dates(values)
        elif column in TIMESTAMPS:
            frame[column] = pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]")
        elif column in ("over_price", "under_price"):
            frame[column] = values.astype(np.int64)
        elif column in ("is_home", "starter"):
            frame[column] = values.astype(bool)
        elif pd.api.types.is_integer_dtype(values) or column in ("player_id", "points"):
            frame[column] = values.astype(np.int64)
        elif not pd.api.types.is_numeric_dtype(values):
            frame[column] = values.astype("str")
    return frame


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize().astype("datetime64[s]")


def _as_date(value: Any) -> date:
    return pd.Timestamp(value).date()
