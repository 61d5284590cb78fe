"""CatBoost in and out: fit on a training frame, predict a frame, save to bytes.

CatBoost is imported inside the functions so that importing ``common.training``
stays cheap. Models never write ``catboost_info/`` (``allow_writing_files=False``)
and use two threads (the machines this runs on have two cores).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from common.feature_sets import get_feature_set
from common.features import to_model_input
from common.registry.modelfile import ModelCard, embed_card
from common.training.request import TrainRequest

THREADS = 2
TARGET = "actual_points"

#: ``progress(description, total)`` → a context manager yielding ``advance(n)``
Progress = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


@contextmanager
def no_progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """The default progress reporter: reports nothing."""
    yield _ignore


def _ignore(n: int = 1) -> None:
    return None


class _Iterations:
    """CatBoost callback advancing a progress bar once per boosting iteration."""

    def __init__(self, advance: Callable[[int], None]) -> None:
        self.advance = advance

    def after_iteration(self, info: Any) -> bool:
        self.advance(1)
        return True  # keep training


def catboost_loss(loss_function: str, alpha: float | None) -> str:
    return f"Quantile:alpha={alpha}" if loss_function == "Quantile" else "MAE"


def fit(frame: pd.DataFrame, request: TrainRequest, advance: Callable[[int], None] | None = None) -> Any:
    """Train a ``CatBoostRegressor`` on ``frame``'s features → ``actual_points``, as ``request`` says.

    V9 models get a positional matrix and the set's names afterwards; V12 models a
    named frame. ``advance(1)`` is called after every boosting iteration.
    """
    from catboost import CatBoostRegressor

    model = CatBoostRegressor(
        iterations=request.iterations,
        learning_rate=request.effective_learning_rate,
        depth=request.depth,
        loss_function=catboost_loss(request.loss_function, request.quantile_alpha),
        random_seed=request.seed,
        thread_count=THREADS,
        allow_writing_files=False,
        verbose=0,
    )
    callbacks = [_Iterations(advance)] if advance is not None else None
    fs = get_feature_set(request.feature_set)
    model.fit(to_model_input(frame, fs.name), frame[TARGET].to_numpy(np.float64), callbacks=callbacks)
    if not fs.by_name:
        model.set_feature_names(list(fs.features))
    return model


def predict(model: Any, frame: pd.DataFrame, feature_set: str) -> np.ndarray:
    """Predictions for every row; named sets are reordered to the model's own feature order."""
    fs = get_feature_set(feature_set)
    if fs.by_name and list(model.feature_names_ or ()) and set(model.feature_names_) == set(fs.features):
        matrix: Any = frame.loc[:, list(model.feature_names_)].astype(np.float64)
    else:
        matrix = to_model_input(frame, feature_set)
    return np.asarray(model.predict(matrix, thread_count=THREADS), dtype=np.float64)


def to_bytes(model: Any, card: ModelCard) -> bytes:
    """The ``.cbm`` bytes with ``card`` embedded in the model's metadata.

    CatBoost stamps each model with a random guid and its finish time. They are
    replaced by a digest of the content, so the same training run gives the same
    bytes and registering a rerun is a no-op rather than a duplicate.
    """
    embed_card(model, card)
    meta = model.get_metadata()
    if "train_finish_time" in meta:
        del meta["train_finish_time"]
    meta["model_guid"] = "content-digest"
    digest = hashlib.sha256(_save(model)).hexdigest()
    meta["model_guid"] = "-".join(digest[i : i + 8] for i in range(0, 32, 8))
    return _save(model)


def _save(model: Any) -> bytes:
    with tempfile.TemporaryDirectory(prefix="modelctl-train-") as tmp:
        path = Path(tmp) / "model.cbm"
        model.save_model(str(path))
        return path.read_bytes()
