"""Scoring a whole slate with every served model, near the speed of CatBoost itself.

Features arrive once per slate as the V12 superset frame. For each feature set
the matrix is built once (V9 by position, V12 by name, reordered to each model's
own feature order when it differs) and wrapped in one CatBoost ``Pool`` shared by
every model of that set; the models are scored from a small thread pool (CatBoost
releases the GIL while it predicts). Rows are assembled from numpy arrays in one
go, not per player or per model.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from common.errors import InvalidArgument
from common.feature_sets import get_feature_set
from common.worker.serving import ServingModel, ServingSet

MIN_EDGE = 1.0  # |prediction - line| below this is a PASS
RECOMMENDATIONS = ["OVER", "UNDER", "PASS"]
PREDICTION_COLUMNS = (
    "game_date", "game_id", "player_id", "system_id", "role", "predicted_points",
    "line", "edge", "recommendation", "model_sha256", "created_at",
)  # fmt: skip


def _order(model: ServingModel) -> tuple[str, ...]:
    """V9 takes the set's positional order; V12 models their own names' order."""
    fs = get_feature_set(model.feature_set)
    return model.feature_names if fs.by_name else fs.features


def _pools(serving: ServingSet, features: pd.DataFrame) -> dict[tuple[str, ...], Any]:
    """One Pool per distinct feature order among the served models.

    The frame is converted to one float32 matrix once; each order is a column
    gather on it, far cheaper than a pandas selection per feature set.
    """
    from catboost import Pool

    orders = list(dict.fromkeys(_order(m) for m in serving.models))
    needed = list(dict.fromkeys(name for order in orders for name in order))
    missing = [name for name in needed if name not in features.columns]
    if missing:
        raise InvalidArgument(f"feature frame lacks {missing[:5]} needed by the served models")
    matrix = features[needed].to_numpy(dtype=np.float32, na_value=np.nan)
    index = {name: i for i, name in enumerate(needed)}
    return {order: Pool(np.ascontiguousarray(matrix[:, [index[n] for n in order]])) for order in orders}


def predict_all(serving: ServingSet, features: pd.DataFrame, threads: int = 2) -> dict[str, np.ndarray]:
    """model_id → predictions for every row of ``features``."""
    pools = _pools(serving, features)

    def run(model: ServingModel) -> tuple[str, np.ndarray]:
        pool = pools[_order(model)]
        return model.model_id, np.asarray(model.model.predict(pool, thread_count=1), dtype=np.float64)

    if threads <= 1 or len(serving.models) <= 1:
        return dict(run(m) for m in serving.models)
    return dict(_executor(threads).map(run, serving.models))


@functools.cache
def _executor(threads: int) -> ThreadPoolExecutor:
    """A long-lived pool: creating threads per slate would cost more than scoring a model."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="score")


@functools.lru_cache(maxsize=256)
def _dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """Categorical dtypes are validated once per label set, not once per slate."""
    return pd.CategoricalDtype(list(categories))


def _repeat_labels(labels: list[str], n: int) -> pd.Categorical:
    """``labels`` each repeated ``n`` times, as a categorical (integer codes, no string copies)."""
    categories = tuple(dict.fromkeys(labels))
    position = {label: i for i, label in enumerate(categories)}
    codes = np.repeat(np.array([position[x] for x in labels], dtype=np.int32), n)
    return pd.Categorical.from_codes(codes, dtype=_dtype(categories))


def prediction_rows(
    serving: ServingSet, features: pd.DataFrame, predictions: dict[str, np.ndarray], min_edge: float = MIN_EDGE
) -> pd.DataFrame:
    """One row per player per model, built from arrays in one pass."""
    models = [m for m in serving.models if m.model_id in predictions]
    n, k = len(features), len(models)
    pred = np.concatenate([predictions[m.model_id] for m in models]) if k else np.empty(0)
    line = np.tile(features["vegas_points_line"].to_numpy(dtype=np.float64), k)
    edge = pred - line
    rec_codes = np.where(edge >= min_edge, 0, np.where(edge <= -min_edge, 1, 2)).astype(np.int8)
    game_codes, games = pd.factorize(features["game_id"])
    return pd.DataFrame(
        {
            "game_date": np.tile(features["game_date"].to_numpy(), k),
            "game_id": pd.Categorical.from_codes(np.tile(game_codes, k), categories=games),
            "player_id": np.tile(features["player_id"].to_numpy(), k),
            "system_id": _repeat_labels([m.model_id for m in models], n),
            "role": _repeat_labels([m.role for m in models], n),
            "predicted_points": pred,
            "line": line,
            "edge": edge,
            "recommendation": pd.Categorical.from_codes(rec_codes, dtype=_dtype(tuple(RECOMMENDATIONS))),
            "model_sha256": _repeat_labels([m.sha256 for m in models], n),
            "created_at": datetime.now(UTC),
        },
        columns=list(PREDICTION_COLUMNS),
        copy=False,  # the arrays were made for this frame; pandas would copy each one again
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
