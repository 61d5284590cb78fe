"""The model a new one must not be worse than: its family's champion, else its newest enabled model.

The comparison is fair only on the same rows, so the reference model's ``.cbm`` is
read from the models bucket and scored on the new model's eval window. When that
cannot be done (no such model, a file elsewhere or unreadable, or a reference
trained on the eval window itself) the MAE gate is skipped and the note says why.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from common.errors import AppError, InvalidModel, NotFound
from common.registry.model import ModelRecord
from common.registry.modelfile import load_model_bytes
from common.registry.service import RegistryService
from common.storage import Bucket
from common.training import model as cb
from common.training.gates import Reference
from common.training.metrics import mae
from common.training.request import TrainRequest

log = logging.getLogger(__name__)


def pick_reference(models: list[ModelRecord], family: str) -> ModelRecord | None:
    """The family's champion if it has one, else its newest enabled model, else None."""
    serving = [m for m in models if m.model_family == family and m.serves]
    champion = next((m for m in serving if m.is_champion), None)
    if champion is not None:
        return champion
    return max(serving, key=lambda m: (m.train_end, str(m.created_at or ""), m.model_id), default=None)


class ReferenceScorer:
    """Scores a family's reference model on eval rows (a ``trainer.ReferenceScorer``)."""

    def __init__(self, registry: RegistryService, bucket: Bucket) -> None:
        self.registry = registry
        self.bucket = bucket

    def __call__(self, rows: pd.DataFrame, request: TrainRequest) -> Reference:
        record = pick_reference(self.registry.list(family=request.family), request.family)
        if record is None:
            return Reference(None, None, f"no champion or enabled {request.family} model to compare with")
        if request.eval_start is not None and record.train_end >= request.eval_start:
            return Reference(
                record.model_id,
                None,
                f"{record.model_id} was trained through {record.train_end}, into the eval window: not comparable",
            )
        try:
            return Reference(record.model_id, self._score(record, rows, request), "")
        except AppError as exc:
            log.warning("cannot score %s: %s", record.model_id, exc, extra={"model_id": record.model_id})
            return Reference(record.model_id, None, f"{record.model_id} could not be scored: {exc}")

    def _score(self, record: ModelRecord, rows: pd.DataFrame, request: TrainRequest) -> float:
        from catboost import CatBoostError

        if record.source_bucket != self.bucket.name or not record.source_object:
            raise NotFound(f"its file {record.model_path} is not in the models bucket {self.bucket.url}")
        data, _ = self.bucket.read(record.source_object)
        loaded = load_model_bytes(data)
        try:
            pred = cb.predict(loaded.model, rows, record.feature_set)
        except CatBoostError as exc:
            raise InvalidModel(str(exc).splitlines()[0][:200]) from None
        line = rows[request.grading_line].to_numpy(np.float64)
        keep = ~np.isnan(line)
        return mae(pred[keep], rows[cb.TARGET].to_numpy(np.float64)[keep])
