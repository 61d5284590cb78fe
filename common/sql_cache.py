"""The DuckDB engine's transpiled SQL, kept on disk between processes (``SQL_CACHE_DIR``).

A one-shot process (``modelctl predict``) runs a dozen BigQuery statements once each: turning them
into DuckDB SQL with sqlglot costs more than running them (importing sqlglot and its DuckDB
generator, then parsing and generating every statement: 0.2–0.3 s of a cold command). The
translation depends only on the statement's text, the installed sqlglot and the translating code
(``common/sql_duckdb.py``; ``common/sql.py`` for the migration files' statements), so a file per
statement, named by a hash of all three, serves every later process. Only ``modelctl`` turns it
on (``use``); long-lived processes keep their in-memory cache.

A file is written to a temporary name and renamed, so a reader sees a whole file or none; each
holds a checksum of its SQL, and a file that does not match (a torn disk, a hand edit) is a miss
and is written again. The cache is an optimisation only: a folder that cannot be read or
written costs the translation, never the statement.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)
#: the code whose output is cached: the DuckDB translation, and ``common.sql.split_statements``
_TRANSLATORS = tuple(Path(__file__).resolve().with_name(name) for name in ("sql_duckdb.py", "sql.py"))
_folder: Path | None = None


def use(folder: str | Path | None) -> None:
    """Keep transpiled SQL in ``folder`` from now on (``None``, ``""`` or ``"none"``: in memory only)."""
    global _folder
    _folder = Path(folder) if folder and str(folder).lower() != "none" else None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=1)
def _salt() -> str:
    """What else a translation depends on: the installed sqlglot and the translating code."""
    from importlib.metadata import version

    code = "\0".join(path.read_bytes().decode(errors="replace") for path in _TRANSLATORS)
    return _digest(f"{version('sqlglot')}\0{code}")


def _path(folder: Path, sql: str) -> Path:
    return folder / (_digest(_salt() + "\0" + sql) + ".sql")


def get(sql: str) -> str | None:
    """The stored translation of ``sql``, or None (no folder, no file, or a file that fails its check)."""
    if _folder is None:
        return None
    try:
        check, _, body = _path(_folder, sql).read_text().partition("\n")
    except (OSError, UnicodeDecodeError):
        return None
    return body if check == f"-- {_digest(body)}" else None


def put(sql: str, translated: str) -> None:
    """Store ``translated`` for ``sql`` (whole or not at all); a failure is logged and ignored."""
    if _folder is None:
        return
    try:
        target = _path(_folder, sql)
        _folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=_folder, prefix=".incoming-", suffix=".sql")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(f"-- {_digest(translated)}\n{translated}")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.debug("SQL cache %s not written: %s", _folder, exc)
