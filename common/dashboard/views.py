"""The models list, the champion timeline and the operations page: view models built from the services.

Each builder takes ``DashboardData`` and returns a frozen dataclass the template renders;
numbers are formatted here, text is left raw (the templates escape it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from common.dashboard.data import DashboardData, ReminderRecord, WorkerAck
from common.grading.figures import WINDOWS
from common.registry.model import ModelRecord, Rejection
from common.reminder import staleness

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


# -- models -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    days: int
    mae: str
    hit_rate: str
    edge_3plus: str  # hit rate (n)
    roi: str | None  # None: grading does not write it (yet)
    clv: str | None


@dataclass(frozen=True)
class ModelRow:
    model_id: str
    role: str
    family: str
    feature_set: str
    train_start: date
    train_end: date
    age_days: int
    level: str  # the family's reminder level: due / overdue / critical / fresh / ""
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class ModelsPage:
    rows: tuple[ModelRow, ...]
    families: tuple[str, ...]
    roles: tuple[str, ...]
    family: str
    role: str
    today: date
    as_of: Any  # the evaluation's latest graded date
    show_roi: bool
    show_clv: bool
    total: int


def _window(ev: Mapping[str, Any], w: int) -> Window:
    roi, clv = ev.get(f"eval_{w}d_roi"), ev.get(f"eval_{w}d_clv")
    return Window(
        days=w,
        mae=num(ev.get(f"eval_{w}d_mae")),
        hit_rate=pct(ev.get(f"eval_{w}d_hit_rate")),
        edge_3plus=pct(ev.get(f"eval_{w}d_hit_rate_edge_3plus"), ev.get(f"eval_{w}d_n_edge_3plus")),
        roi=None if f"eval_{w}d_roi" not in ev else pct(None if roi is None else 100.0 * float(roi)),
        clv=None if f"eval_{w}d_clv" not in ev else num(clv, sign=True),
    )


def models_page(
    data: DashboardData, family: str, role_filter: str, today: date, levels: tuple[int, int, int]
) -> ModelsPage:
    """Every model (3 queries with the schema check: models, evaluation columns), filtered in memory."""
    models = data.models()
    evaluation = data.evaluation([m.model_id for m in models])
    family_level = {f.family: f.level or "fresh" for f in staleness(models, today, levels)}
    shown = [
        m for m in models if (not family or m.model_family == family) and (not role_filter or role(m) == role_filter)
    ]
    order = {name: i for i, name in enumerate(ROLES)}
    shown.sort(key=lambda m: (order[role(m)], m.model_family, m.model_id))
    rows = tuple(
        ModelRow(
            model_id=m.model_id,
            role=role(m),
            family=m.model_family,
            feature_set=m.feature_set,
            train_start=m.train_start,
            train_end=m.train_end,
            age_days=(today - m.train_end).days,
            level=family_level.get(m.model_family, ""),
            windows=tuple(_window(evaluation.get(m.model_id, {}), w) for w in WINDOWS),
        )
        for m in shown
    )
    as_of = max((str(e["evaluation_as_of"]) for e in evaluation.values() if e.get("evaluation_as_of")), default=None)
    return ModelsPage(
        rows=rows,
        families=tuple(sorted({m.model_family for m in models})),
        roles=ROLES,
        family=family,
        role=role_filter,
        today=today,
        as_of=as_of,
        show_roi=any(w.roi is not None for r in rows for w in r.windows),
        show_clv=any(w.clv is not None for r in rows for w in r.windows),
        total=len(models),
    )


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
class OperationsPage:
    rejections: tuple[Rejection, ...]
    workers: tuple[WorkerAck, ...]
    reminder: ReminderRecord | None
    days: tuple[DayCounts, ...]
    window: int
    serving_behind: bool | None = False  # None: the manifest could not be compared with the registry
    serving: str = ""


def per_day(daily: Any) -> tuple[DayCounts, ...]:
    """Graded, pending and void predictions per game date (newest first) from daily rows."""
    if daily is None or daily.empty:
        return ()
    frame = daily.assign(models=1).groupby("game_date")[["n", "n_pending", "n_void", "models"]].sum()
    return tuple(
        DayCounts(day, int(r["n"]), int(r["n_pending"]), int(r["n_void"]), int(r["models"]))
        for day, r in frame.sort_index(ascending=False).iterrows()
    )


def operations(data: DashboardData) -> OperationsPage:
    """8 queries with the schema check: rejections, worker acks, the last reminder, the last
    ``OPERATIONS_DAYS`` days of daily rows (3), the registry version (+ the models when the
    serving manifest records another version)."""
    behind, serving = data.serving()
    return OperationsPage(
        serving_behind=behind,
        serving=serving,
        rejections=tuple(data.rejections()),
        workers=tuple(data.worker_acks()),
        reminder=data.last_reminder(),
        days=per_day(data.recent_daily(OPERATIONS_DAYS)),
        window=OPERATIONS_DAYS,
    )
