"""Evaluation metrics: pure functions on numpy arrays (predictions, outcomes, lines).

A bet is what production bets and grades (``common/betting.py``, the one rule):
an OVER/UNDER recommendation (``|prediction - line| >= MIN_EDGE``, else PASS)
with a line that did not push (``actual == line``). Hit rates count bets only, so
a backtest hit rate measures what the live hit rates of grading measure.

* "edge 3+" bets are bets with ``|prediction - line| >= EDGE_3PLUS``;
* hit rates are percentages (as the registry stores them), MAE and bias points;
* coverage is the share of outcomes strictly below the prediction, which for a
  quantile model trained at ``alpha`` should be close to ``alpha``;
* money is settled as grading settles it (``betting.settle``): each bet at the price of its side
  (``over_price`` / ``under_price`` of the evaluation rows, ``BET_PRICE`` where there is none),
  and the break-even hit rates the gates compare with are those of the prices bet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from common import betting
from common.errors import InvalidArgument


@dataclass(frozen=True)
class Metrics:
    """How a model did on one evaluation window."""

    n: int  # graded player-games (those with a line)
    mae: float
    bias: float  # mean(prediction - actual): negative means the model predicts low
    hit_rate: float | None
    n_bets: int  # OVER/UNDER recommendations (|edge| >= MIN_EDGE) with a line that did not push
    hit_rate_edge_3plus: float | None
    n_edge_3plus: int
    coverage: float | None  # quantile models only
    prediction_std: float
    units: float = 0.0  # each bet at its own price: +payout per win, -1 per loss, 0 per push
    roi: float | None = None  # units per bet
    break_even: float | None = None  # percent: the hit rate the prices of the bets need
    break_even_edge_3plus: float | None = None  # percent: the same for the edge-3+ bets
    n_pushes: int = 0  # OVER/UNDER calls whose outcome equalled the line
    clv: float | None = None  # mean closing line minus the bet line toward the pick (closing_line given)
    n_clv: int = 0

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


def _rate(graded: betting.Bets, bets: np.ndarray) -> tuple[float | None, int]:
    n = int(bets.sum())
    return betting.hit_rate(int((graded.won & bets).sum()), n), n


def hit_rate(pred: Any, actual: Any, line: Any, edge_3plus: bool = False) -> tuple[float | None, int]:
    """Percentage of bets won and how many bets there were (``edge_3plus``: those bets only)."""
    graded = betting.grade(*_arrays(pred, actual, line))
    return _rate(graded, graded.edge_3plus if edge_3plus else graded.bet)


def coverage(pred: Any, actual: Any) -> float | None:
    """Share of outcomes strictly below the prediction."""
    p, a = _arrays(pred, actual)
    return float(np.mean(a < p)) if len(p) else None


#: The column of the line whose snapshot the rows' ``over_price`` / ``under_price`` belong to.
PRICED_LINE = "line"


def market_of(rows: Any, graded_line: str = PRICED_LINE) -> dict[str, np.ndarray]:
    """``evaluate``'s market keywords from evaluation rows: ``over_price``, ``under_price`` and
    ``closing_line``, NaN (prices: ``BET_PRICE``) where a row or the frame has none.

    The prices are those of the lead-time snapshot (``line``): bets graded against another line
    (the opening line, without ``--use-production-lines``) are settled at ``BET_PRICE``,
    never at a price that was posted for a different line."""
    columns = getattr(rows, "columns", ())
    priced = graded_line == PRICED_LINE
    return {
        c: np.asarray(pd.to_numeric(rows[c], errors="coerce"), dtype=np.float64)
        if c in columns and (priced or c == "closing_line")
        else np.full(len(rows), np.nan)
        for c in ("over_price", "under_price", "closing_line")
    }  # fmt: skip


def _percent_break_even(prices: np.ndarray, bets: np.ndarray, default: float) -> float | None:
    return 100.0 * float(betting.break_evens(prices[bets], default).mean()) if bets.any() else None


def evaluate(
    pred: Any,
    actual: Any,
    line: Any,
    quantile: bool,
    over_price: Any = None,
    under_price: Any = None,
    closing_line: Any = None,
    bet_price: float = betting.DEFAULT_BET_PRICE,
) -> Metrics:
    """Every metric the report and the gates use, for rows that have a line; bets settled at their
    prices (``over_price`` / ``under_price``, None or NaN: ``bet_price``, the setting ``BET_PRICE``),
    CLV in points when ``closing_line`` is given."""
    p, a, ln = _arrays(pred, actual, line)
    over, under, close = (np.full(len(p), np.nan) if v is None else np.asarray(v, dtype=np.float64)
                          for v in (over_price, under_price, closing_line))  # fmt: skip
    keep = ~np.isnan(ln)
    p, a, ln, over, under, close = (v[keep] for v in (p, a, ln, over, under, close))
    graded = betting.grade(p, a, ln)
    rate, n_bets = _rate(graded, graded.bet)
    edge_rate, n_edge = _rate(graded, graded.edge_3plus)
    won = betting.settle(graded, over, under, bet_price)
    picked = betting.pick_prices(np.where(graded.over, betting.OVER, betting.UNDER), over, under, bet_price)
    clv = betting.clv_points(graded, ln, close)
    valued = clv[~np.isnan(clv)]
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
        units=float(won.sum()),
        roi=betting.roi(float(won.sum()), n_bets),
        break_even=_percent_break_even(picked, graded.bet, bet_price),
        break_even_edge_3plus=_percent_break_even(picked, graded.edge_3plus, bet_price),
        n_pushes=int(((graded.over | graded.under) & graded.push).sum()),
        clv=float(valued.mean()) if len(valued) else None,
        n_clv=len(valued),
    )


def strengths(pred: Any, actual: Any, line: Any) -> dict[str, Any]:
    """Where the model wins: OVER vs UNDER bets, all and edge 3+ (hit rate %, n)."""
    p, a, ln = _arrays(pred, actual, line)
    graded = betting.grade(p, a, ln)
    out: dict[str, Any] = {}
    for side, mask in (("over", graded.over), ("under", graded.under)):
        for label, bets in (("all", graded.bet & mask), ("edge_3plus", graded.edge_3plus & mask)):
            rate, n = _rate(graded, bets)
            out[f"{side}_{label}"] = {"hit_rate": None if rate is None else round(rate, 1), "n": n}
    return out
