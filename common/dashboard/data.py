"""Where every figure on the dashboard comes from: one object over the registry and grading services.

Each method is one query (or none), so a page's cost on BigQuery is the sum of the
methods it calls (``web.PAGE_QUERIES`` states each page's count). Date-bounded reads
go through grading's own statements (``DAILY_RECENT``, ``PAIRED``), which touch only
the days a page shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from common.app import check_serving
from common.dashboard import queries as q
from common.errors import AppError
from common.grading.analysis import compare_all, compare_models
from common.grading.catalog import REGISTRY, Catalog
from common.grading.compare import Comparison, VerdictRule
from common.grading.store import GradingStore
from common.manifest import ServingLag
from common.notify.store import NotificationStore
from common.registry.model import Activity, ModelRecord, RegistryEvent, Rejection
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.reminder import KIND as REMINDER_KIND
from common.runtime import ReadOnlyEngine, runtime_for
from common.settings import Settings
from common.sql import Engine, Param, open_engine
from common.worker.acks import AckStore, WorkerAck


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

    def latest_graded(self) -> date | None:
        """The latest graded date (2 queries, then cached for the request)."""
        return self.grading.latest_graded()

    def last_game_date(self, today: date, since: date) -> date | None:
        """The latest game date before ``today`` from ``since`` on (one query on the games table)."""
        rows = self.engine.query(q.LAST_GAME_DATE, {"today": Param(today, "DATE"), "since": Param(since, "DATE")})
        last = rows[0]["last"] if rows else None
        return None if last is None else pd.Timestamp(last).date()

    def day_counts(self, day: date) -> tuple[int, int]:
        """(predictions made, predictions graded) for one game date: one query on that date's partitions."""
        rows = self.engine.query(q.DAY_COUNTS, {"day": Param(day, "DATE")})
        return (int(rows[0]["predicted"] or 0), int(rows[0]["graded"] or 0)) if rows else (0, 0)

    def verdict(self, catalog: Catalog, model_id: str, rule: VerdictRule) -> Comparison:
        """The sequential verdict against the current champion over every shared graded day: the
        same evidence ``promote`` relies on."""
        return compare_models(self.grading, catalog, model_id, None, None, rule)

    def verdicts(self, catalog: Catalog, rule: VerdictRule) -> dict[str, Comparison]:
        """Every enabled challenger's verdict against the champion (``verdict`` of each), in two
        queries whatever their number (none without a champion or a challenger)."""
        return compare_all(self.grading, catalog, rule)

    # -- operations ---------------------------------------------------------------------------
    def worker_acks(self) -> list[WorkerAck]:
        """Every worker's latest acknowledgement, ``problem`` included (the worker's own store and
        query; the schema was checked when this object opened)."""
        return AckStore(self.engine).list(check_schema=False)

    def serving(self) -> tuple[ServingLag | None, str]:
        """The serving manifest compared with the registry (None: could not be compared), in words: one
        query (the registry version) and the manifest object, plus the models when the versions differ."""
        if self.settings is None:
            return None, "serving manifest not checked"
        try:
            lag = check_serving(self.settings, self.registry)
        except AppError as exc:
            return None, str(exc)
        return lag, lag.detail

    def activity(self, family: str | None, limit: int, offset: int) -> list[Activity]:
        """One page of every registry event and rejection, newest first (one query)."""
        return RegistryStore(self.engine).activity(family, limit, offset)

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
