"""The models list, the champion timeline and the operations page: view models built from the services.

Each builder takes ``DashboardData`` and returns a frozen dataclass the template renders;
numbers are formatted here, text is left raw (the templates escape it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from common.dashboard.data import DashboardData, ReminderRecord
from common.registry.model import Activity, ModelRecord, Rejection
from common.worker.acks import WorkerAck

ROLES = ("champion", "shadow", "disabled", "retired")
OPERATIONS_DAYS = 14  # pending / void counts shown for the last this many days


def role(m: ModelRecord) -> str:
    """champion / shadow (enabled) / disabled / retired."""
    if m.is_retired:
        return "retired"
    if m.is_champion:
        return "champion"
    return "shadow" if m.enabled else "disabled"


def pct(value: Any, n: Any = None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{float(value):.1f}%" + ("" if n is None else f" ({int(n or 0)})")


def num(value: Any, digits: int = 2, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{float(value):{'+' if sign else ''}.{digits}f}"


# -- champion timeline ------------------------------------------------------------------------
@dataclass(frozen=True)
class Reign:
    model_id: str
    start: datetime
    end: datetime | None  # None: champion now
    reason: str | None  # why it became champion
    ended_by: str | None  # why it stopped (the demotion's reason)
    actor: str

    @property
    def days(self) -> float | None:
        return None if self.end is None else (self.end - self.start).total_seconds() / 86400


def timeline(data: DashboardData) -> tuple[Reign, ...]:
    """Who was champion from when to when, and why (2 queries with the schema check: every audit event)."""
    reigns: list[Reign] = []
    for event in data.events():
        after = event.after or {}
        became = after.get("status") == "champion" and (event.before or {}).get("status") != "champion"
        left = (event.before or {}).get("status") == "champion" and after.get("status") != "champion"
        if left:
            reigns = [
                Reign(r.model_id, r.start, event.occurred_at, r.reason, event.reason, r.actor)
                if r.model_id == event.model_id and r.end is None
                else r
                for r in reigns
            ]
        if became:
            reigns.append(Reign(event.model_id, event.occurred_at, None, event.reason, None, event.actor))
    return tuple(reversed(reigns))


# -- operations -------------------------------------------------------------------------------
@dataclass(frozen=True)
class DayCounts:
    day: date
    graded: int
    pending: int
    void: int
    models: int


@dataclass(frozen=True)
class WorkerRow:
    ack: WorkerAck
    behind: bool  # serves an older generation than the manifest holds


@dataclass(frozen=True)
class OperationsPage:
    rejections: tuple[Rejection, ...]
    workers: tuple[WorkerRow, ...]
    reminder: ReminderRecord | None
    days: tuple[DayCounts, ...]
    window: int
    serving_behind: bool | None = False  # None: the manifest could not be compared with the registry
    serving: str = ""
    manifest_generation: int | None = None


def per_day(daily: Any) -> tuple[DayCounts, ...]:
    """Graded, pending and void predictions per game date (newest first) from daily rows."""
    if daily is None or daily.empty:
        return ()
    frame = daily.assign(models=1).groupby("game_date")[["n", "n_pending", "n_void", "models"]].sum()
    return tuple(
        DayCounts(day, int(r["n"]), int(r["n_pending"]), int(r["n_void"]), int(r["models"]))
        for day, r in frame.sort_index(ascending=False).iterrows()
    )


_FILE_URL = re.compile(r"file://[^\s'\"<>),;]+")


def local_paths(text: str, bucket_url: str) -> str:
    """``text`` with every ``file://`` URL shown as the object's name in the bucket (``models/x.cbm``),
    or its file name outside it: this machine's folders are nobody's business on a page."""
    root = bucket_url.rstrip("/") + "/"

    def name(match: re.Match[str]) -> str:
        url = match.group(0)
        return url[len(root) :] if bucket_url.startswith("file://") and url.startswith(root) else url.rsplit("/", 1)[-1]

    return _FILE_URL.sub(name, text) if "file://" in text else text


def operations(data: DashboardData) -> OperationsPage:
    """``web.PAGE_QUERIES["operations"]`` queries with the schema check: rejections, worker acks, the
    last reminder, the last ``OPERATIONS_DAYS`` days of daily rows (3), the registry version
    (+ the models when the serving manifest records another version)."""
    lag, serving = data.serving()
    generation = lag.manifest_generation if lag else None
    return OperationsPage(
        serving_behind=None if lag is None else lag.behind,
        serving=serving,
        manifest_generation=generation,
        rejections=tuple(data.rejections()),
        workers=tuple(WorkerRow(a, a.behind(generation)) for a in data.worker_acks()),
        reminder=data.last_reminder(),
        days=per_day(data.recent_daily(OPERATIONS_DAYS)),
        window=OPERATIONS_DAYS,
    )


# -- activity feed ------------------------------------------------------------------------------
ACTIVITY_PAGE = 50  # lines per page of the activity feed


@dataclass(frozen=True)
class ActivityPage:
    items: tuple[Activity, ...]
    family: str
    families: tuple[str, ...]
    page: int  # 1-based
    more: bool  # a next page exists


def activity(data: DashboardData, family: str, page: int) -> ActivityPage:
    """One page of the registry-wide feed (3 queries with the schema check: models, one page + 1 line)."""
    families = tuple(sorted({m.model_family for m in data.models()}))
    items = data.activity(family or None, ACTIVITY_PAGE + 1, (page - 1) * ACTIVITY_PAGE)
    return ActivityPage(tuple(items[:ACTIVITY_PAGE]), family, families, page, len(items) > ACTIVITY_PAGE)
