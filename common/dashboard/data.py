"""Where every figure on the dashboard comes from: one object over the registry and grading services.

Each method is one query (or none), so a page's cost on BigQuery is the sum of the
methods it calls (``web.PAGE_QUERIES`` states each page's count). Date-bounded reads
go through grading's own statements (``DAILY_RECENT``, ``PAIRED``), which touch only
the days a page shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from common.app import check_serving
from common.dashboard import queries as q
from common.errors import AppError
from common.grading.analysis import compare_models
from common.grading.catalog import REGISTRY, Catalog
from common.grading.compare import Comparison, VerdictRule
from common.grading.store import GradingStore
from common.notify.store import NotificationStore
from common.registry.model import ModelRecord, RegistryEvent, Rejection
from common.registry.service import RegistryService
from common.reminder import KIND as REMINDER_KIND
from common.runtime import ReadOnlyEngine, runtime_for
from common.settings import Settings
from common.sql import Engine, open_engine


@dataclass(frozen=True)
class WorkerAck:
    """What one prediction worker last acknowledged serving."""

    worker_id: str
    generation: int | None
    source: str | None
    champion: str | None
    models: dict[str, str]  # model id → sha256
    acked_at: datetime | None


@dataclass(frozen=True)
class ReminderRecord:
    """The latest retrain reminder the registry recorded."""

    key: str
    status: str
    families: tuple[str, ...]
    claimed_at: datetime | None
    sent_at: datetime | None


class DashboardData:
    """Read-only access for the dashboard: the registry service, its grading tables, nothing written."""

    def __init__(
        self, registry: RegistryService, settings: Settings | None = None, engine: Engine | None = None
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.engine = engine if engine is not None else ReadOnlyEngine(open_engine(registry.url))
        self.grading = GradingStore(self.engine)

    @classmethod
    def open(cls, settings: Settings) -> DashboardData:
        """On ``MODEL_REGISTRY_URL``, read-only and announcing nothing, on the process's runtime
        (one query: the schema check)."""
        runtime = runtime_for(settings)
        return cls(runtime.registry(read_only=True), settings, runtime.read_only_engine())

    # -- registry ----------------------------------------------------------------------------
    def models(self) -> list[ModelRecord]:
        return self.registry.list()

    def events(self, model_id: str | None = None) -> list[RegistryEvent]:
        return self.registry.events(model_id=model_id)

    def rejections(self, limit: int = 20) -> list[Rejection]:
        return self.registry.rejections(limit=limit)

    def catalog(self, models: list[ModelRecord]) -> Catalog:
        return Catalog(tuple(models), REGISTRY, self.registry.objectives())

    # -- grading ------------------------------------------------------------------------------
    def evaluation(self, model_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The registry's live 7/14/30-day columns (and ROI / CLV once grading writes them)."""
        return self.grading.read_evaluation(model_ids)

    def recent_daily(self, days: int) -> pd.DataFrame:
        """Daily rows of the last ``days`` days up to the latest graded date."""
        return self.grading.recent_daily(days)[1]

    def verdict(self, catalog: Catalog, model_id: str, rule: VerdictRule) -> Comparison:
        """The sequential verdict against the current champion over every shared graded day: the
        same evidence ``promote`` relies on."""
        return compare_models(self.grading, catalog, model_id, None, None, rule)

    # -- operations ---------------------------------------------------------------------------
    def worker_acks(self, limit: int = 50) -> list[WorkerAck]:
        rows = self.engine.query(q.WORKER_ACKS, {"limit": limit})
        return [
            WorkerAck(
                worker_id=str(r["worker_id"]),
                generation=None if r["generation"] is None else int(r["generation"]),
                source=r["source"],
                champion=r["champion"],
                models={str(k): str(v) for k, v in _json_object(r["models_json"]).items()},
                acked_at=r["acked_at"],
            )
            for r in rows
        ]

    def serving(self) -> tuple[bool | None, str]:
        """Whether the serving manifest is behind the registry (None: could not tell), in words: one
        query (the registry version) and the manifest object, plus the models when the versions differ."""
        if self.settings is None:
            return None, "serving manifest not checked"
        try:
            lag = check_serving(self.settings, self.registry)
        except AppError as exc:
            return None, str(exc)
        return lag.behind, lag.detail

    def last_reminder(self) -> ReminderRecord | None:
        last = NotificationStore(self.engine).latest(REMINDER_KIND)
        if last is None:
            return None
        stale = _json_object(last.payload).get("stale", [])
        families = tuple(str(f) for f in stale) if isinstance(stale, list) else ()
        return ReminderRecord(last.notification_key, last.status, families, last.claimed_at, last.sent_at)


def _json_object(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
