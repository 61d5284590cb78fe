"""Scoring a whole slate with every served model, near the speed of CatBoost itself.

The slate arrives once as a ``Slate``: keys plus one float32 matrix of the V12
superset. Each distinct feature order among the served models (V9 by position,
V12 by the model's own names) is one column gather and one CatBoost ``Pool``
shared by every model reading it. Models that share an order are scored fused,
several in one CatBoost pass (``common/worker/fusion.py``: exact to 1e-9, the
champion always by its own ``predict``). Model by model (no fused group: right
after a cold start, or ``FUSED_SCORING`` off), the many short calls go to a small
long-lived thread pool (CatBoost releases the GIL while it predicts), and the
parts of the rows that do not depend on predictions are built while they run.
A fused plan is a handful of long calls, run on the calling thread: two of CatBoost's
``staged_predict`` calls on two threads do not overlap (on an idle machine two
ensembles took 5.5-6.5 ms on two threads and 5.5-6.2 ms one after the other,
where ``predict`` went from 5.0 to 2.5 ms), so a second thread only adds
hand-overs (bench/README.md, issue 22, worker side).
Rows are assembled from numpy arrays in one go, not per player or per model.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from common.betting import EDGE_3PLUS, MIN_EDGE, RECOMMENDATIONS, recommendation_codes
from common.worker.serving import ServingModel, ServingSet
from common.worker.slate import Slate

PREDICTION_COLUMNS = (
    "game_date", "game_id", "player_id", "system_id", "role", "predicted_points",
    "line", "edge", "recommendation", "model_sha256", "created_at",
    "as_of", "over_price", "under_price", "line_captured_at",
)  # fmt: skip


@functools.cache
def _executor(threads: int) -> ThreadPoolExecutor:
    """A long-lived pool: creating threads per slate would cost more than scoring a model."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="score")


def _run_now(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
    """``submit`` for a single thread: run at once, hand back a completed future."""
    future: Future[Any] = Future()
    try:
        future.set_result(fn(*args, **kwargs))
    except Exception as exc:  # re-raised by ``result()``, exactly as a pool's future would
        future.set_exception(exc)
    return future


Job = tuple[tuple[int, ...], Future[Any]]  # (model indices, their predictions: one row per model)


def submit_all(serving: ServingSet, slate: Slate, threads: int = 2) -> list[Job]:
    """Start every served model on the slate, fused where the plan fuses them.

    One shared Pool per feature order, all built before the first job starts: building
    a pool holds the GIL, and interleaving it with running models measured slower.
    ``threads`` serve a plan without fused groups; a fused plan runs on the calling thread
    (module docstring). Bigger jobs are submitted first, so the threads finish together.
    """
    from catboost import Pool

    plan = serving.plan
    jobs = len(plan.fused) + len(plan.alone)
    submit = _executor(threads).submit if threads > 1 and jobs > 1 and not plan.fused else _run_now
    # thread_count=1: a pool built on CatBoost's thread pool only woke its threads (futex, sched_yield)
    pools = {order: Pool(slate.gather(order), thread_count=1) for order, _ in serving.input_groups}
    started: list[Job] = []
    for group in sorted(plan.fused, key=lambda g: -len(g.members)):
        members = tuple(group.members)
        started.append((members, submit(group.predict, pools[group.order], thread_count=1)))
    for i in plan.alone:
        model = serving.models[i]
        started.append(((i,), submit(model.model.predict, pools[model.input_order], thread_count=1)))
    return started


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


def score_slate(
    serving: ServingSet, features: Slate | pd.DataFrame, threads: int = 2, min_edge: float = MIN_EDGE
) -> pd.DataFrame:
    """Every served model on every slate player → one prediction row per player per model."""
    slate = features if isinstance(features, Slate) else Slate.from_frame(features)
    models: tuple[ServingModel, ...] = serving.models
    n, k = len(slate), len(models)
    jobs = submit_all(serving, slate, threads) if n else []
    # While CatBoost scores (on the pool), everything that does not depend on its predictions.
    line = np.tile(slate.line, k)
    keys = {
        "game_date": np.tile(slate.game_date, k),
        "game_id": pd.Categorical.from_codes(np.tile(slate.game_codes, k), categories=slate.games),
        "player_id": np.tile(slate.player_id, k),
        "system_id": _repeat_labels([m.model_id for m in models], n),
        "role": _repeat_labels([m.role for m in models], n),
        "model_sha256": _repeat_labels([m.sha256 for m in models], n),
    }
    pred = np.empty(n * k, dtype=np.float64)
    for members, future in jobs:
        result = np.reshape(future.result(), (len(members), n))
        for row, i in zip(result, members, strict=True):
            if i >= 0:  # -1: a carried-over ensemble's member that this set no longer serves
                pred[i * n : (i + 1) * n] = row
    edge = pred - line
    rec_codes = recommendation_codes(edge, min_edge)
    return pd.DataFrame(
        {
            **keys,
            "predicted_points": pred,
            "line": line,
            "edge": edge,
            "recommendation": pd.Categorical.from_codes(rec_codes, dtype=_dtype(tuple(RECOMMENDATIONS))),
            "created_at": datetime.now(UTC),
            **market_columns(slate, k),
        },
        columns=list(PREDICTION_COLUMNS),
        copy=False,  # the arrays were made for this frame; pandas would copy each one again
    )


def market_columns(slate: Slate, k: int) -> dict[str, Any]:
    """The moment and the snapshot each row was made with (issue 20), tiled over ``k`` models."""
    n = len(slate)

    def tiled(values: np.ndarray | None, dtype: str) -> Any:
        if values is None and dtype == "Int64":  # all missing, built from arrays (not n * k Nones)
            return pd.arrays.IntegerArray(np.zeros(n * k, dtype=np.int64), np.ones(n * k, dtype=bool))
        if values is None:
            return pd.DatetimeIndex(np.full(n * k, np.datetime64("NaT", "ns"))).tz_localize("UTC")
        if dtype == "Int64":
            return pd.array(np.tile(values, k), dtype="Float64").astype("Int64")
        return pd.DatetimeIndex(np.tile(values, k)).tz_localize("UTC")

    return {
        "as_of": tiled(slate.as_of, "datetime64[ns, UTC]"),
        "over_price": tiled(slate.over_price, "Int64"),
        "under_price": tiled(slate.under_price, "Int64"),
        "line_captured_at": tiled(slate.line_captured_at, "datetime64[ns, UTC]"),
    }


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
            "edge_3plus": grouped["edge"].apply(lambda e: int((e.abs() >= EDGE_3PLUS).sum())),
            "mean_prediction": grouped["predicted_points"].mean().round(2),
        }
    ).reset_index()
