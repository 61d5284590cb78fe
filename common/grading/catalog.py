"""Which models exist, which are active, when their training ended: the registry, else the built-in list.

Grading reads this once per run. The registry is the source of truth; when it
cannot be read the checked-in list (``builtin_models.json``) stands in, so that
grading still knows each model's training end and quantile alpha — but nothing
is written back to the registry from a fallback run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from common.registry.fallback import BUILTIN, which_models
from common.registry.model import ModelRecord

log = logging.getLogger(__name__)
REGISTRY = "registry"
__all__ = ["BUILTIN", "REGISTRY", "Catalog", "load_catalog"]


@dataclass(frozen=True)
class Catalog:
    """The models grading knows about and where the list came from."""

    models: tuple[ModelRecord, ...]
    source: str

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

    def in_sample_until(self, model_ids: Iterable[str]) -> date | None:
        """The latest training end among ``model_ids`` (None when none is known)."""
        wanted = set(model_ids)
        ends = [m.train_end for m in self.models if m.model_id in wanted and m.train_end]
        return max(ends) if ends else None


def load_catalog(read: Callable[[], list[ModelRecord]]) -> Catalog:
    """Every registry record via ``read``; the built-in list when the registry cannot be read
    (``which_models``, the same answer the worker gets)."""

    def registry() -> tuple[ModelRecord, ...]:
        return tuple(read())

    def builtin(records: list[ModelRecord]) -> tuple[ModelRecord, ...]:
        return tuple(records)

    answer = which_models([(REGISTRY, registry)], builtin)
    catalog = Catalog(answer.value, answer.source)
    log.info(
        "grading knows %d models (%d active) from the %s",
        len(catalog.models),
        len(catalog.active),
        catalog.source,
        extra={"source": catalog.source, "active": [m.model_id for m in catalog.active]},
    )
    return catalog
