"""``modelctl`` that stops dead after statement K of migration V, so a test can ``kill -9`` it there.

Run as ``python -m tests.support.paused_migrate migrate`` with ``PAUSE_MIGRATION=V``,
``PAUSE_AFTER=K`` (1-based: K statements of V have run) and ``PAUSE_MARKER=path``. When the
K-th statement of migration V has been sent to the engine, the marker file is written and the
process sleeps until it is killed. Everything else is the real CLI on the real engines: the pause
sits in the engine's own statement primitive (DuckDB's ``_execute``, BigQuery's ``_run``), the
points between which a real process can die. Test-only: nothing in ``common/`` knows of it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from common.cli.main import main
from common.sql_bigquery import BigQueryEngine
from common.sql_duckdb import DuckDBEngine

_state = {"version": -1, "sent": 0}


def _install(engine: type, primitive: str) -> None:
    version, after, marker = (
        int(os.environ["PAUSE_MIGRATION"]),
        int(os.environ["PAUSE_AFTER"]),
        os.environ["PAUSE_MARKER"],
    )
    apply, run = engine.apply_migration, getattr(engine, primitive)

    def apply_migration(self: Any, v: int, *args: Any, **kwargs: Any) -> Any:
        _state.update(version=v, sent=0)
        try:
            return apply(self, v, *args, **kwargs)
        finally:
            _state["version"] = -1

    def statement(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = run(self, *args, **kwargs)
        if _state["version"] == version:
            _state["sent"] += 1
            if _state["sent"] == after:
                Path(marker).write_text(str(os.getpid()))
                while True:  # until SIGKILL
                    time.sleep(1)
        return result

    engine.apply_migration = apply_migration  # type: ignore[attr-defined]
    setattr(engine, primitive, statement)


if __name__ == "__main__":
    _install(DuckDBEngine, "_execute")
    _install(BigQueryEngine, "_run")
    sys.exit(main(sys.argv[1:]))
