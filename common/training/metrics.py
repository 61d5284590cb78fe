"""Evaluation metrics: pure functions on numpy arrays (predictions, outcomes, lines).

Conventions, the same as grading in production:

* a prediction above the line calls OVER, below calls UNDER, equal calls nothing;
* an outcome equal to the line is a push; pushes and no-calls are left out of
  hit rates (and of their counts);
* "edge 3+" bets are those with ``|prediction - line| >= 3``;
* hit rates are percentages (as the registry stores them), MAE and bias points;
* coverage is the share of outcomes strictly below the prediction, which for a
  quantile model trained at ``alpha`` should be close to ``alpha``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from common.errors import InvalidArgument

EDGE = 3.0


@dataclass(frozen=True)
class Metrics:
    """How a model did on one evaluation window."""

    n: int  # graded player-games (those with a line)
    mae: float
    bias: float  # mean(prediction - actual): negative means the model predicts low
    hit_rate: float | None
    n_bets: int  # calls that were neither pushes nor no-calls
    hit_rate_edge_3plus: float | None
    n_edge_3plus: int
    coverage: float | None  # quantile models only
    prediction_std: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _arrays(*values: Any) -> list[np.ndarray]:
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    if len({a.shape for a in arrays}) != 1:
        raise InvalidArgument(f"metric inputs differ in shape: {[a.shape for a in arrays]}")
    return arrays


def mae(pred: Any, actual: Any) -> float:
    """Mean absolute error in points."""
    p, a = _arrays(pred, actual)
    return float(np.mean(np.abs(p - a))) if len(p) else float("nan")


def bias(pred: Any, actual: Any) -> float:
    """Mean signed error (prediction minus outcome)."""
    p, a = _arrays(pred, actual)
    return float(np.mean(p - a)) if len(p) else float("nan")


def bets(pred: Any, actual: Any, line: Any, min_edge: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(graded mask, won mask): calls with ``|pred - line| >= min_edge`` that are not pushes."""
    p, a, ln = _arrays(pred, actual, line)
    call, outcome = np.sign(p - ln), np.sign(a - ln)
    graded = (call != 0) & (outcome != 0) & ~np.isnan(ln) & (np.abs(p - ln) >= min_edge)
    return graded, graded & (call == outcome)


def hit_rate(pred: Any, actual: Any, line: Any, min_edge: float = 0.0) -> tuple[float | None, int]:
    """Percentage of calls won and how many calls there were (pushes and no-calls excluded)."""
    graded, won = bets(pred, actual, line, min_edge)
    n = int(graded.sum())
    return (100.0 * float(won.sum()) / n if n else None), n


def coverage(pred: Any, actual: Any) -> float | None:
    """Share of outcomes strictly below the prediction."""
    p, a = _arrays(pred, actual)
    return float(np.mean(a < p)) if len(p) else None


def evaluate(pred: Any, actual: Any, line: Any, quantile: bool) -> Metrics:
    """Every metric the report and the gates use, for rows that have a line."""
    p, a, ln = _arrays(pred, actual, line)
    keep = ~np.isnan(ln)
    p, a, ln = p[keep], a[keep], ln[keep]
    rate, n_bets = hit_rate(p, a, ln)
    edge_rate, n_edge = hit_rate(p, a, ln, EDGE)
    return Metrics(
        n=int(len(p)),
        mae=mae(p, a),
        bias=bias(p, a),
        hit_rate=rate,
        n_bets=n_bets,
        hit_rate_edge_3plus=edge_rate,
        n_edge_3plus=n_edge,
        coverage=coverage(p, a) if quantile else None,
        prediction_std=float(np.std(p)) if len(p) else 0.0,
    )


def strengths(pred: Any, actual: Any, line: Any) -> dict[str, Any]:
    """Where the model wins: OVER vs UNDER calls, all and edge 3+ (hit rate %, n)."""
    p, a, ln = _arrays(pred, actual, line)
    keep = ~np.isnan(ln)
    p, a, ln = p[keep], a[keep], ln[keep]
    out: dict[str, Any] = {}
    for side, mask in (("over", p > ln), ("under", p < ln)):
        for label, edge in (("all", 0.0), ("edge_3plus", EDGE)):
            rate, n = hit_rate(p[mask], a[mask], ln[mask], edge)
            out[f"{side}_{label}"] = {"hit_rate": None if rate is None else round(rate, 1), "n": n}
    return out
