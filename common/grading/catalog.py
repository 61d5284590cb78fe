"""Which models exist, which are active, when their training ended: the registry, else the built-in list.

Grading reads this once per run. The registry is the source of truth; when it
cannot be read the checked-in list (``builtin_models.json``) stands in, so that
grading still knows each model's training end and quantile alpha — but nothing
is written back to the registry from a fallback run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from common.registry.fallback import BUILTIN, which_models
from common.registry.model import DEFAULT_OBJECTIVE, ModelRecord

log = logging.getLogger(__name__)
REGISTRY = "registry"
__all__ = ["BUILTIN", "REGISTRY", "Catalog", "load_catalog"]


@dataclass(frozen=True)
class Catalog:
    """The models grading knows about and where the list came from."""

    models: tuple[ModelRecord, ...]
    source: str
    objectives: Mapping[str, str] = field(default_factory=dict)  # family -> declared objective (migration 020)

    @property
    def from_registry(self) -> bool:
        return self.source == REGISTRY

    @property
    def active(self) -> tuple[ModelRecord, ...]:
        """Models that serve (enabled, not retired): their predictions are being made now."""
        return tuple(m for m in self.models if m.serves)

    @property
    def champion(self) -> ModelRecord | None:
        return next((m for m in self.active if m.is_champion), None)

    @property
    def challengers(self) -> tuple[ModelRecord, ...]:
        """Active shadows: graded and compared, never the source of user-facing alerts."""
        return tuple(m for m in self.active if not m.is_champion)

    def get(self, model_id: str) -> ModelRecord | None:
        return next((m for m in self.models if m.model_id == model_id), None)

    def objective(self, model_id: str) -> str:
        """The objective ``model_id`` is judged on: its family's declared one, else the default."""
        record = self.get(model_id)
        family = record.model_family if record else None
        return self.objectives.get(family, DEFAULT_OBJECTIVE) if family else DEFAULT_OBJECTIVE

    def challenger_rank(self, model_id: str) -> int:
        """``model_id``'s place (1, 2, …) among the current champion's challengers, in registration
        order: every other model live at some time of the champion's reign (serving now, or stopped
        since the reign began), so retrains keep counting and a stopped challenger keeps its place."""
        champion = self.champion
        if champion is None:
            return 1
        reign = champion.updated_at

        def in_reign(m: ModelRecord) -> bool:
            stopped_since = reign is None or (m.updated_at is not None and m.updated_at >= reign)
            return m.model_id != champion.model_id and (m.serves or stopped_since or m.model_id == model_id)

        order = sorted((m for m in self.models if in_reign(m)), key=lambda m: (_when(m.created_at), m.model_id))
        return next((i for i, m in enumerate(order, 1) if m.model_id == model_id), len(order) + 1)

    def in_sample_until(self, model_ids: Iterable[str]) -> date | None:
        """The latest training end among ``model_ids`` (None when none is known)."""
        wanted = set(model_ids)
        ends = [m.train_end for m in self.models if m.model_id in wanted and m.train_end]
        return max(ends) if ends else None


def _when(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else float("-inf")


def load_catalog(
    read: Callable[[], list[ModelRecord]], objectives: Callable[[], dict[str, str]] | None = None
) -> Catalog:
    """Every registry record via ``read`` (and the families' objectives via ``objectives``); the
    built-in list when the registry cannot be read (``which_models``, the same answer the worker gets)."""

    def registry() -> tuple[ModelRecord, ...]:
        return tuple(read())

    def builtin(records: list[ModelRecord]) -> tuple[ModelRecord, ...]:
        return tuple(records)

    answer = which_models([(REGISTRY, registry)], builtin)
    declared = objectives() if objectives is not None and answer.source == REGISTRY else {}
    catalog = Catalog(answer.value, answer.source, declared)
    log.info(
        "grading knows %d models (%d active) from the %s",
        len(catalog.models),
        len(catalog.active),
        catalog.source,
        extra={"source": catalog.source, "active": [m.model_id for m in catalog.active]},
    )
    return catalog
