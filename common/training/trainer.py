"""Train one model and judge it: a :class:`TrainRequest` and a season in, a :class:`TrainResult` out.

Pure of storage: the season arrives as frames and the champion comparison as a
function, so this module never touches the registry or the bucket. Training and
evaluation use the player-games that have a posted line (the population the
models are graded on); features come from :func:`common.features.build_training_frame`,
so a row never sees its own game.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from common.data.season import SeasonData
from common.data.store import season_fingerprint
from common.errors import GateFailed, InvalidArgument
from common.features import build_training_frame
from common.registry.modelfile import ModelCard
from common.training import artifacts
from common.training import model as cb
from common.training.gates import GateResult, Reference, evaluate_gates, failures
from common.training.metrics import Metrics, evaluate, market_of, strengths
from common.training.request import TrainRequest
from common.training.walkforward import Fold, run_folds

log = logging.getLogger(__name__)

_FRAMES: dict[str, pd.DataFrame] = {}
#: scores the family's reference model on the eval rows (see ``common.training.champion``)
ReferenceScorer = Callable[[pd.DataFrame, TrainRequest], Reference]


def no_reference(rows: pd.DataFrame, request: TrainRequest) -> Reference:
    return Reference(None, None, "no champion comparison requested")


@dataclass(frozen=True)
class TrainResult:
    """A trained, evaluated and gated model (published or not: see ``publication``)."""

    request: TrainRequest  # with the eval window filled in
    metrics: Metrics
    gates: tuple[GateResult, ...]
    reference: Reference
    folds: tuple[Fold, ...]
    n_train: int
    card: ModelCard
    model_bytes: bytes = field(repr=False)
    seconds: float
    publication: Any = None  # common.training.artifacts.Publication once published

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def failures(self) -> list[str]:
        return failures(list(self.gates))

    def raise_for_gates(self) -> None:
        """``GateFailed`` naming every failed gate, if any failed."""
        if not self.passed:
            raise GateFailed(
                f"{self.request.family} failed {len(self.failures())} gate(s), nothing uploaded or registered: "
                + "; ".join(self.failures())
            )


def played_range(season: SeasonData) -> tuple[date, date]:
    """First and last date with a played game (the latest data date)."""
    pg = season.player_games
    days = pd.to_datetime(pg.loc[pg["status"] == "played", "game_date"])
    if days.empty:
        raise InvalidArgument("the season data has no played games")
    return days.min().date(), days.max().date()


def window(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Rows of ``frame`` dated ``start``..``end`` (inclusive)."""
    days = pd.to_datetime(frame["game_date"])
    return frame[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))]


def train(
    request: TrainRequest,
    season: SeasonData,
    reference: ReferenceScorer = no_reference,
    progress: cb.Progress = cb.no_progress,
) -> TrainResult:
    """Validate the windows against the data, train, evaluate, compare, gate; build the card and bytes."""
    began = time.perf_counter()
    request = request.against_data(*played_range(season))
    frame = window(lined_frame(season), request.train_start, request.eval_end)  # type: ignore[arg-type]
    train_rows, eval_rows = _split(frame, request)
    with progress(f"training {request.family}", request.iterations) as advance:
        model = cb.fit(train_rows, request, advance)
    pred = cb.predict(model, eval_rows, request.feature_set)
    actual, line = eval_rows[cb.TARGET].to_numpy(), eval_rows[request.grading_line].to_numpy()
    quantile = request.loss_function == "Quantile"
    metrics = evaluate(pred, actual, line, quantile, **market_of(eval_rows, request.grading_line),
                       bet_price=request.bet_price)  # fmt: skip
    ref = reference(eval_rows, request)
    gates = tuple(evaluate_gates(metrics, request.quantile_alpha, ref, request.gates))
    folds = tuple(run_folds(frame, request, window, progress)) if request.walkforward else ()
    card = artifacts.build_card(
        request,
        metrics,
        {**strengths(pred, actual, line), **_extras(request, metrics, folds)},
        artifacts.data_fingerprint(train_rows, eval_rows),
    )
    seconds = time.perf_counter() - began
    log.info(
        "trained %s: MAE %.3f, edge-3+ %s%% (n=%d), gates %s",
        request.family,
        metrics.mae,
        "n/a" if metrics.hit_rate_edge_3plus is None else f"{metrics.hit_rate_edge_3plus:.1f}",
        metrics.n_edge_3plus,
        "passed" if all(g.passed for g in gates) else "failed",
        extra={"family": request.family, "seconds": round(seconds, 2)},
    )
    return TrainResult(request, metrics, gates, ref, folds, len(train_rows), card, cb.to_bytes(model, card), seconds)


def lined_frame(season: SeasonData) -> pd.DataFrame:
    """Features of every played player-game with a line by its as-of moment, for the whole season.

    Rows carry ``line``, ``over_price`` and ``under_price`` (the snapshot used at the lead time,
    as production would bet) and ``opening_line`` / ``closing_line`` (for CLV and legacy grading).

    A row's features depend only on earlier games, so one frame serves every window
    of the season. The latest season's frame is kept (keyed on the data's fingerprint):
    ``retrain --all`` and walk-forward folds build it once.
    """
    key = season_fingerprint(season)
    if key not in _FRAMES:
        first, last = played_range(season)
        frame = build_training_frame(season, first, last)
        _FRAMES.clear()
        lined = frame["line"].notna() & frame["closing_line"].notna() & frame["opening_line"].notna()
        _FRAMES[key] = frame[lined].reset_index(drop=True)
    return _FRAMES[key]


def _split(frame: pd.DataFrame, request: TrainRequest) -> tuple[pd.DataFrame, pd.DataFrame]:
    train_rows = window(frame, request.train_start, request.train_end)
    if train_rows.empty:
        raise InvalidArgument(
            f"train window {request.train_start}..{request.train_end} has no played player-games with a line"
        )
    eval_rows = window(frame, request.eval_start, request.eval_end)  # type: ignore[arg-type]
    if eval_rows.empty:
        raise InvalidArgument(
            f"eval window {request.eval_start}..{request.eval_end} has no played player-games with a line"
        )
    return train_rows, eval_rows


def _extras(request: TrainRequest, metrics: Metrics, folds: tuple[Fold, ...]) -> dict[str, Any]:
    """What the card records beyond the registry's metric columns."""
    extras: dict[str, Any] = {
        "graded_against": request.grading_line,
        "n_graded": metrics.n,
        "bias": round(metrics.bias, 3),
        "prediction_std": round(metrics.prediction_std, 3),
    }
    if metrics.coverage is not None:
        extras["coverage"] = round(metrics.coverage, 3)
    if folds:
        extras["walkforward"] = [
            {
                "eval": f"{f.eval_start}..{f.eval_end}",
                "mae": None if np.isnan(f.metrics.mae) else round(f.metrics.mae, 3),
                "hit_rate_edge_3plus": _round(f.metrics.hit_rate_edge_3plus),
                "n_edge_3plus": f.metrics.n_edge_3plus,
            }
            for f in folds
        ]
    return extras


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
