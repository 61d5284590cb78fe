"""Domain objects the registry hands out. Stores never leak client rows."""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from common.errors import InvalidArgument

#: what a family is judged on (``common/grading/objective.py`` defines the metrics and why ``mae``
#: is the default); the registry stores one per family (migration 020)
OBJECTIVES = ("mae", "clv", "roi")
DEFAULT_OBJECTIVE = "mae"


def check_objective(value: str) -> str:
    """``value`` as an objective, or a clear error naming the valid ones."""
    key = (value or "").strip().lower()
    if key not in OBJECTIVES:
        raise InvalidArgument(f"unknown objective {value!r}: choose one of {', '.join(OBJECTIVES)}")
    return key


class Status(StrEnum):
    """A model's role. ``enabled`` says whether a shadow or champion serves."""

    SHADOW = "shadow"
    CHAMPION = "champion"
    RETIRED = "retired"


@dataclass(frozen=True)
class ModelRecord:
    """One row of ``model_registry``."""

    model_id: str
    model_path: str
    model_family: str
    feature_set: str
    loss_function: str  # "MAE" or "Quantile"
    quantile_alpha: float | None
    train_start: date
    train_end: date
    eval_start: date | None = None
    eval_end: date | None = None
    backtest_mae: float | None = None
    backtest_hit_rate_all: float | None = None
    backtest_hit_rate_edge_3plus: float | None = None
    backtest_n_edge_3plus: int | None = None
    evaluation_n_edge_3plus: int | None = None
    strengths_json: str | None = None
    description: str | None = None
    enabled: bool = False
    status: str = Status.SHADOW.value
    sha256: str | None = None
    size_bytes: int | None = None
    source_bucket: str | None = None
    source_object: str | None = None
    source_generation: str | None = None
    registered_by: str | None = None
    retired_reason: str | None = None
    row_version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def is_champion(self) -> bool:
        return self.status == Status.CHAMPION.value

    @property
    def is_retired(self) -> bool:
        return self.status == Status.RETIRED.value

    @property
    def serves(self) -> bool:
        """Whether a prediction worker loads this model."""
        return self.enabled and not self.is_retired

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (dates as ISO strings)."""
        return {k: _jsonable(v) for k, v in asdict(self).items()}

    def state(self) -> dict[str, Any]:
        """The fields an audit event records before → after."""
        return {"enabled": self.enabled, "status": self.status, "retired_reason": self.retired_reason}


@dataclass(frozen=True)
class RegistryEvent:
    """One row of ``model_registry_events``: who did what, when, why."""

    event_id: str
    model_id: str
    action: str
    actor: str
    reason: str | None
    before_json: str | None
    after_json: str | None
    occurred_at: datetime

    @property
    def before(self) -> dict[str, Any] | None:
        return json.loads(self.before_json) if self.before_json else None

    @property
    def after(self) -> dict[str, Any] | None:
        return json.loads(self.after_json) if self.after_json else None

    def to_json_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Activity:
    """One line of the registry-wide activity feed: an audit event, or a model that could not enter."""

    kind: str  # "event" or "rejection"
    item_id: str  # the event id or the rejection id
    subject: str  # the model id (``family_<family>`` for an objective), or the rejected file's URI
    action: str  # the event's action, or the rejection's error type
    actor: str
    reason: str | None
    occurred_at: datetime
    family: str | None  # None: a rejection, or a model no longer in the registry


@dataclass(frozen=True)
class RegistryVersion:
    """The registry's state as a version: how many audit events it holds, and the greatest event id.

    Every change appends an audit event in the transaction that makes it, and events are never
    removed, so ``events`` only grows and two reads with the same version saw the same models.
    The serving manifest records the version it was built from: a manifest whose version differs
    from the registry's is behind it.
    """

    events: int
    last_event_id: str | None

    def __str__(self) -> str:
        return str(self.events)


@dataclass(frozen=True)
class Rejection:
    """One row of ``model_registry_rejections``: a model that could not enter."""

    rejection_id: str
    source_uri: str
    source_bucket: str | None
    source_object: str | None
    source_generation: str | None
    sha256: str | None
    size_bytes: int | None
    reason: str
    error_type: str
    actor: str
    rejected_at: datetime

    def to_json_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class PromotionEvidence:
    """What the evidence provider (grading's comparison) says about promoting a model."""

    sufficient: bool
    verdict: str
    finding: str  # what the evidence says, in words
    rule: str  # the rule it was judged by
    champion_id: str
    details_json: str | None = None  # the whole comparison, strict JSON


@dataclass(frozen=True)
class Promotion:
    """One row of ``model_registry_promotions``: a promotion's evidence, beside its audit event."""

    event_id: str
    model_id: str
    previous_champion: str | None
    forced: bool
    verdict: str | None
    finding: str | None
    rule: str | None
    evidence_json: str | None
    promoted_at: datetime

    def to_json_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN or Infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def strict_dumps(value: Any, **kwargs: Any) -> str:
    """Strict JSON text: non-finite numbers become null, never a bare ``NaN``."""
    return json.dumps(finite(value), allow_nan=False, default=str, **kwargs)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


_BQ_TYPES = {str: "STRING", int: "INT64", float: "FLOAT64", bool: "BOOL", date: "DATE", datetime: "TIMESTAMP"}


def bigquery_types(cls: type) -> dict[str, str]:
    """Map each dataclass field to its BigQuery type, from the type hints.

    Parameters carry types so that a NULL binds as the column's type on
    BigQuery, which (unlike DuckDB) refuses an untyped NULL.
    """
    hints = typing.get_type_hints(cls)
    result = {}
    for f in fields(cls):
        hint = hints[f.name]
        if isinstance(hint, types.UnionType):
            hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        result[f.name] = _BQ_TYPES[hint]
    return result


def from_row(cls: type, row: dict[str, Any]) -> Any:
    """Build a dataclass from a row dict, ignoring columns it does not know."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in row.items() if k in names})
