"""Walk-forward evaluation: rolling weekly folds over the eval window.

Fold ``k`` evaluates on the ``k``-th week of the eval window (the last one may be
shorter) with a model trained on the train window shifted forward by the same
number of days, so every fold trains on a window of the requested length that
ends before its week begins, as a weekly retrain in production would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pandas as pd

from common.training import model as cb
from common.training.metrics import Metrics, evaluate, market_of
from common.training.request import TrainRequest

FOLD_DAYS = 7


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold: its windows and how its model did."""

    index: int
    train_start: date
    train_end: date
    eval_start: date
    eval_end: date
    n_train: int
    metrics: Metrics


def fold_windows(request: TrainRequest) -> list[tuple[date, date, date, date]]:
    """(train_start, train_end, eval_start, eval_end) of each weekly fold of a resolved request."""
    if request.eval_start is None or request.eval_end is None:
        return []
    folds = []
    start = request.eval_start
    while start <= request.eval_end:
        shift = start - request.eval_start
        end = min(start + timedelta(days=FOLD_DAYS - 1), request.eval_end)
        folds.append((request.train_start + shift, request.train_end + shift, start, end))
        start = end + timedelta(days=1)
    return folds


def run_folds(
    frame: pd.DataFrame,
    request: TrainRequest,
    window: Callable[[pd.DataFrame, date, date], pd.DataFrame],
    progress: cb.Progress = cb.no_progress,
) -> list[Fold]:
    """Train and evaluate every fold on ``frame`` (lined rows covering train start to eval end)."""
    windows = fold_windows(request)
    folds = []
    with progress("walk-forward folds", len(windows)) as advance_fold:
        for index, (ts, te, es, ee) in enumerate(windows, start=1):
            train_rows = window(frame, ts, te)
            eval_rows = window(frame, es, ee)
            fold_request = replace(request, train_start=ts, train_end=te, eval_start=es, eval_end=ee)
            with progress(f"fold {index}/{len(windows)}", request.iterations) as advance:
                model = cb.fit(train_rows, fold_request, advance)
            pred = cb.predict(model, eval_rows, request.feature_set)
            metrics = evaluate(
                pred,
                eval_rows[cb.TARGET],
                eval_rows[request.grading_line],
                request.loss_function == "Quantile",
                **market_of(eval_rows, request.grading_line),
                bet_price=request.bet_price,
            )
            folds.append(Fold(index, ts, te, es, ee, len(train_rows), metrics))
            advance_fold(1)
    return folds
