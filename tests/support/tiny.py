"""Tiny CatBoost models with real model cards, trained in well under a second.

For tests and benches that need genuine ``.cbm`` files of every family
without a season of data. The full pipeline (``modelctl train``) writes the same
card from real training.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from common.feature_sets import get_feature_set
from common.registry.modelfile import ModelCard, embed_card
from common.registry.naming import family_name


def tiny_card(
    feature_set: str = "v9",
    loss: str = "MAE",
    alpha: float | None = None,
    train_start: date = date(2025, 11, 2),
    train_end: date = date(2026, 2, 15),
    **overrides: Any,
) -> ModelCard:
    card = ModelCard(
        model_family=family_name(feature_set, loss, alpha),
        feature_set=feature_set,
        loss_function=loss,
        quantile_alpha=alpha,
        train_start=train_start.isoformat(),
        train_end=train_end.isoformat(),
        eval_start=None,
        eval_end=None,
        backtest_mae=4.6,
        backtest_hit_rate_all=53.1,
        backtest_hit_rate_edge_3plus=57.4,
        backtest_n_edge_3plus=120,
        description=f"tiny {feature_set} {loss} model for demos and tests",
        strengths={"edge_3plus": "stable"},
        data_fingerprint="tiny",
        code_version="tiny",
    )
    return replace(card, **overrides)


def tiny_model_bytes(
    card: ModelCard | None = None,
    seed: int = 0,
    feature_names: list[str] | None = None,
    catboost_loss: str | None = None,
    iterations: int = 10,
    unnamed: bool = False,
    depth: int = 3,
    missing: float = 0.0,
    **catboost_params: Any,
) -> bytes:
    """Train a tiny model on random data shaped like ``card``'s feature set; return the .cbm bytes.

    ``feature_names`` and ``catboost_loss`` let tests build deliberately wrong models.
    ``missing`` is the share of feature values left missing;
    ``catboost_params`` go to ``CatBoostRegressor`` as they are (``nan_mode``, ``grow_policy``…).
    ``card=None`` leaves the metadata empty (a legacy-style file); ``unnamed`` keeps CatBoost's
    default feature names ``"0".."N-1"``, as a model fitted on a bare numpy array has (legacy V9).
    """
    from catboost import CatBoostRegressor

    names = feature_names or list(get_feature_set(card.feature_set if card else "v9").features)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, len(names)))
    y = 15 + 3 * x[:, 0] + rng.normal(size=200)
    if catboost_loss is None:
        loss = card.loss_function if card else "MAE"
        catboost_loss = f"Quantile:alpha={card.quantile_alpha}" if card and loss == "Quantile" else "MAE"
    model = CatBoostRegressor(
        iterations=iterations,
        depth=depth,
        loss_function=catboost_loss,
        random_seed=seed,
        verbose=0,
        allow_writing_files=False,
        thread_count=1,
        **catboost_params,
    )
    x[rng.random(x.shape) < missing] = np.nan  # a share of missing values: nan_mode splits
    model.fit(x, y)
    if not unnamed:
        model.set_feature_names(names)
    if card is not None:
        embed_card(model, card)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.cbm"
        model.save_model(str(path))
        return path.read_bytes()
