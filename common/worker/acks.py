"""``worker_acks``: what each prediction worker last acknowledged serving, and what is wrong with it.

A worker writes its row after every reload (and when it refuses a new serving set);
``modelctl workers`` and the runbook read them. The SQL lives in ``queries.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from common.sql import Engine, Param, open_engine
from common.worker import queries as q

if TYPE_CHECKING:
    from common.settings import Settings

#: A running worker acknowledges after every registry check (``REGISTRY_CHECK_SECONDS``); one not
#: heard from for this many checks (plus a poll) is silent: stopped, crashed, or unable to write.
SILENT_AFTER_CHECKS = 3


def silent_after(settings: Settings) -> timedelta:
    """How long a worker may go without acknowledging before it counts as silent."""
    return timedelta(seconds=SILENT_AFTER_CHECKS * settings.registry_check_seconds + settings.manifest_poll_seconds)


@dataclass(frozen=True)
class WorkerAck:
    """One worker's latest report."""

    worker_id: str
    generation: int
    source: str
    champion: str | None
    models: dict[str, str]  # model id → sha256
    problem: str | None  # why it cannot serve picks, or holds an older set; None when all is well
    acked_at: datetime

    def behind(self, manifest_generation: int | None) -> bool:
        """Whether this worker serves an older generation than the serving manifest holds (a worker
        reading the registry directly, generation 0, follows the registry rather than the manifest)."""
        if manifest_generation is None or self.source == "registry":
            return False
        return self.generation < manifest_generation

    def silent(self, now: datetime, after: timedelta) -> bool:
        """Whether nothing has been heard from this worker for longer than ``after`` (``silent_after``)."""
        acked = self.acked_at if self.acked_at.tzinfo else self.acked_at.replace(tzinfo=UTC)
        return now - acked > after


class AckStore:
    """Reads and writes of ``worker_acks`` on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> AckStore:
        return cls(open_engine(url))

    def record(self, ack: WorkerAck) -> None:
        """Replace this worker's row by ``ack``."""
        params = {
            "worker_id": ack.worker_id,
            "generation": ack.generation,
            "source": ack.source,
            "models_json": json.dumps(ack.models, sort_keys=True),
            "champion": ack.champion or "",
            "problem": Param(ack.problem, "STRING"),
            "acked_at": Param(ack.acked_at, "TIMESTAMP"),
        }
        self.engine.run_atomic([(q.RECORD_ACK, params)])

    def list(self, check_schema: bool = True) -> list[WorkerAck]:
        """Every worker's row, newest first (``ConfigError`` on an out-of-date schema; a caller that
        has checked the schema already passes ``check_schema=False``)."""
        from common.registry.store import RegistryStore

        if check_schema:
            RegistryStore(self.engine).require_current_schema()
        return [_ack(row) for row in self.engine.query(q.LIST_ACKS)]


def _ack(row: dict[str, Any]) -> WorkerAck:
    return WorkerAck(
        worker_id=str(row["worker_id"]),
        generation=int(row["generation"]),
        source=str(row["source"]),
        champion=row["champion"] or None,
        models=json.loads(row["models_json"] or "{}"),
        problem=row["problem"] or None,
        acked_at=row["acked_at"],
    )
