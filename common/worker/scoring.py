"""Scoring a whole slate with every served model, near the speed of CatBoost itself.

Features arrive once per slate as the V12 superset frame. For each feature set
the matrix is built once (V9 by position, V12 by name, reordered to each model's
own feature order when it differs) and wrapped in one CatBoost ``Pool`` shared by
every model of that set; the models are scored from a small thread pool (CatBoost
releases the GIL while it predicts). Rows are assembled from numpy arrays in one
go, not per player or per model.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from common.feature_sets import get_feature_set
from common.worker.serving import ServingModel, ServingSet

MIN_EDGE = 1.0  # |prediction - line| below this is a PASS
PREDICTION_COLUMNS = (
    "game_date", "game_id", "player_id", "system_id", "role", "predicted_points",
    "line", "edge", "recommendation", "model_sha256", "created_at",
)  # fmt: skip


def _order(model: ServingModel) -> tuple[str, ...]:
    """V9 takes the set's positional order; V12 models their own names' order."""
    fs = get_feature_set(model.feature_set)
    return model.feature_names if fs.by_name else fs.features


def _pools(serving: ServingSet, features: pd.DataFrame) -> dict[tuple[str, ...], Any]:
    """One Pool per distinct feature order among the served models."""
    from catboost import Pool

    pools: dict[tuple[str, ...], Any] = {}
    for model in serving.models:
        order = _order(model)
        if order not in pools:
            values = features.loc[:, list(order)].to_numpy(dtype=np.float32, na_value=np.nan)
            pools[order] = Pool(np.ascontiguousarray(values))
    return pools


def predict_all(serving: ServingSet, features: pd.DataFrame, threads: int = 2) -> dict[str, np.ndarray]:
    """model_id → predictions for every row of ``features``."""
    pools = _pools(serving, features)

    def run(model: ServingModel) -> tuple[str, np.ndarray]:
        pool = pools[_order(model)]
        return model.model_id, np.asarray(model.model.predict(pool, thread_count=1), dtype=np.float64)

    if threads <= 1 or len(serving.models) <= 1:
        return dict(run(m) for m in serving.models)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return dict(pool.map(run, serving.models))


def prediction_rows(
    serving: ServingSet, features: pd.DataFrame, predictions: dict[str, np.ndarray], min_edge: float = MIN_EDGE
) -> pd.DataFrame:
    """One row per player per model, built from arrays in one pass."""
    models = [m for m in serving.models if m.model_id in predictions]
    n, k = len(features), len(models)
    pred = np.concatenate([predictions[m.model_id] for m in models]) if k else np.empty(0)
    line = np.tile(features["vegas_points_line"].to_numpy(dtype=np.float64), k)
    edge = pred - line
    recommendation = np.where(edge >= min_edge, "OVER", np.where(edge <= -min_edge, "UNDER", "PASS"))
    return pd.DataFrame(
        {
            "game_date": np.tile(features["game_date"].to_numpy(), k),
            "game_id": np.tile(features["game_id"].to_numpy(), k),
            "player_id": np.tile(features["player_id"].to_numpy(), k),
            "system_id": np.repeat([m.model_id for m in models], n),
            "role": np.repeat([m.role for m in models], n),
            "predicted_points": pred,
            "line": line,
            "edge": edge,
            "recommendation": recommendation,
            "model_sha256": np.repeat([m.sha256 for m in models], n),
            "created_at": datetime.now(UTC),
        },
        columns=list(PREDICTION_COLUMNS),
    )


def score_slate(serving: ServingSet, features: pd.DataFrame, threads: int = 2) -> pd.DataFrame:
    """Every served model on every slate row → prediction rows."""
    return prediction_rows(serving, features, predict_all(serving, features, threads))


def champion_picks(rows: pd.DataFrame, champion_id: str | None) -> pd.DataFrame:
    """The user-facing picks: the champion's non-PASS rows, strongest edge first.

    Shadows are in ``rows`` too and must never change this output.
    """
    if champion_id is None:
        return rows.iloc[0:0][["game_id", "player_id", "predicted_points", "line", "edge", "recommendation"]]
    mine = rows[(rows["system_id"] == champion_id) & (rows["recommendation"] != "PASS")]
    ordered = mine.assign(_strength=mine["edge"].abs()).sort_values(["_strength", "player_id"], ascending=[False, True])
    return ordered[["game_id", "player_id", "predicted_points", "line", "edge", "recommendation"]].reset_index(
        drop=True
    )


def signals(rows: pd.DataFrame) -> pd.DataFrame:
    """Each model's own signal for the slate, per ``system_id``."""
    grouped = rows.groupby("system_id", sort=True)
    return pd.DataFrame(
        {
            "role": grouped["role"].first(),
            "n": grouped.size(),
            "over": grouped["recommendation"].apply(lambda r: int((r == "OVER").sum())),
            "under": grouped["recommendation"].apply(lambda r: int((r == "UNDER").sum())),
            "edge_3plus": grouped["edge"].apply(lambda e: int((e.abs() >= 3).sum())),
            "mean_prediction": grouped["predicted_points"].mean().round(2),
        }
    ).reset_index()
