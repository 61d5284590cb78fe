"""Grading tables on one engine: the SQL in ``queries.py`` run with typed parameters.

Row-level grading runs inside the engine (``INSERT … SELECT`` joining predictions
with box scores), so a million predictions never travel to Python and back;
only per-model-per-day aggregates and paired samples come out as frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from common.grading import queries as q
from common.grading.compare import PAIRED_COLUMNS
from common.sql import Engine, Param

_FLOAT_COLUMNS = ("mae", "hit_rate", "hit_rate_edge_3plus")


def _dates(days: Sequence[date]) -> dict[str, Any]:
    return {"dates": Param(sorted(set(days)), "ARRAY")}


class GradingStore:
    """Reads and atomic writes of ``prediction_accuracy``, ``model_performance_daily`` and the
    registry's live evaluation columns."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def grade(self, days: Sequence[date], graded_at: datetime) -> None:
        """Replace the dates' graded rows by a fresh grading, in one transaction, per (date, system_id)
        with predictions: a model without predictions on a date keeps what was graded."""
        params = {**_dates(days), "graded_at": Param(graded_at, "TIMESTAMP")}
        self.engine.run_atomic([(q.DELETE_ACCURACY, _dates(days)), (q.GRADE, params)])

    def daily_inputs(self, days: Sequence[date]) -> pd.DataFrame:
        """Graded figures and ungraded counts per model per day for ``days`` (``queries.DAILY_INPUTS``)."""
        return self.engine.query_frame(q.DAILY_INPUTS, _dates(days))

    def write_daily(self, daily: pd.DataFrame, days: Sequence[date]) -> None:
        """Replace the dates' daily rows by ``daily`` (per (date, system_id) with predictions)."""
        self.engine.write_frame("model_performance_daily", daily, (q.DELETE_DAILY, _dates(days)))

    def recent_daily(self, days: int) -> tuple[date | None, pd.DataFrame]:
        """(latest graded date, daily rows of the ``days`` days up to it); (None, empty) before any grading."""
        frame = self._typed_daily(self.engine.query_frame(q.DAILY_RECENT, {"days": days}))
        graded = frame.loc[frame["n"].astype(np.int64) > 0, "game_date"] if len(frame) else frame["game_date"]
        return (max(graded) if len(graded) else None), frame

    def daily_between(self, start: date, end: date) -> pd.DataFrame:
        return self._typed_daily(self.engine.query_frame(q.DAILY_BETWEEN, {"start": start, "end": end}))

    @staticmethod
    def _typed_daily(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in q.DAILY_COLUMNS})
        frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
        for column in (*_FLOAT_COLUMNS, "bias", "coverage", "quantile_alpha"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        frame["in_sample"] = frame["in_sample"].astype(bool)
        return frame

    def paired(self, challenger: str, champion: str, after: date | None, days: int) -> pd.DataFrame:
        """Both models graded on the same player-games after ``after``, over the last ``days`` days
        they share (see ``queries.PAIRED``)."""
        params = {"challenger": challenger, "champion": champion, "after": after or date(1900, 1, 1), "days": days}
        frame = self.engine.query_frame(q.PAIRED, params)
        if frame.empty:
            return pd.DataFrame({c: pd.Series(dtype=np.float64) for c in PAIRED_COLUMNS})
        frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
        return frame

    def update_evaluation(self, rows: Sequence[dict[str, Any]], as_of: date, now: datetime) -> None:
        """Write each model's live evaluation columns, every model in one transaction."""
        statements = []
        for row in rows:
            params = {k: Param(v, _type(k)) for k, v in row.items()}
            params["evaluation_as_of"] = Param(as_of, "DATE")
            params["evaluation_updated_at"] = Param(now, "TIMESTAMP")
            statements.append((q.UPDATE_EVALUATION, params))
        if statements:
            self.engine.run_atomic(statements)

    def read_evaluation(self, model_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not model_ids:
            return {}
        rows = self.engine.query(q.READ_EVALUATION, {"model_ids": Param(list(model_ids), "ARRAY")})
        return {str(r["model_id"]): r for r in rows}


def _type(column: str) -> str:
    if column == "model_id":
        return "STRING"
    return "INT64" if column.endswith("_n") or column.endswith("n_edge_3plus") else "FLOAT64"
