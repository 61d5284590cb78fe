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

from common.betting import DEFAULT_BET_PRICE
from common.grading import queries as q
from common.grading.compare import PAIRED_COLUMNS
from common.sql import Engine, Param

_FLOAT_COLUMNS = ("mae", "hit_rate", "hit_rate_edge_3plus", "bias", "coverage", "quantile_alpha", "units", "roi", "clv",
                  "pinball", "clv_prob", "break_even")  # fmt: skip
# Where the search for the latest graded date starts when nothing bounds it (no dates at work and no
# evaluation recorded yet): only until the first grading run records one.
_NO_BOUND = date(1900, 1, 1)


def _dates(days: Sequence[date]) -> dict[str, Any]:
    return {"dates": Param(sorted(set(days)), "ARRAY")}


class GradingStore:
    """Reads and atomic writes of ``prediction_accuracy``, ``model_performance_daily`` and the
    registry's live evaluation columns."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._latest: dict[date | None, date | None] = {}  # latest_graded(since), until the next write

    def grade(self, days: Sequence[date], graded_at: datetime, bet_price: float = DEFAULT_BET_PRICE) -> None:
        """Replace the dates' graded rows by a fresh grading, in one transaction, per (date, system_id)
        with predictions: a model without predictions on a date keeps what was graded. Each bet is
        settled at its own line and price; ``bet_price`` (``BET_PRICE``) where a row has no price."""
        params = {**_dates(days), "graded_at": Param(graded_at, "TIMESTAMP"), "bet_price": Param(bet_price, "FLOAT64")}
        self.engine.run_atomic([(q.DELETE_ACCURACY, _dates(days)), (q.GRADE, params)])
        self._latest.clear()

    def daily_inputs(self, days: Sequence[date], bet_price: float = DEFAULT_BET_PRICE) -> pd.DataFrame:
        """Graded figures and ungraded counts per model per day for ``days`` (``queries.DAILY_INPUTS``);
        break-even at ``bet_price`` (``BET_PRICE``) for the bets whose row has no price."""
        return self.engine.query_frame(q.DAILY_INPUTS, {**_dates(days), "bet_price": Param(bet_price, "FLOAT64")})

    def write_daily(self, daily: pd.DataFrame, days: Sequence[date]) -> None:
        """Replace the dates' daily rows by ``daily`` (per (date, system_id) with predictions)."""
        self.engine.write_frame("model_performance_daily", daily, (q.DELETE_DAILY, _dates(days)))
        self._latest.clear()

    def latest_graded(self, since: date | None = None) -> date | None:
        """The latest date with graded predictions, read from ``since`` (the dates at work) or the
        registry's last evaluation date, whichever is earlier, so that only recent partitions are read."""
        if since not in self._latest:
            row = self.engine.query(q.LAST_EVALUATED)
            bounds = [d for d in (since, _as_date(row[0]["as_of"]) if row else None) if d is not None]
            rows = self.engine.query(q.LATEST_GRADED, {"since": Param(min(bounds, default=_NO_BOUND), "DATE")})
            self._latest[since] = _as_date(rows[0]["latest"]) if rows else None
        return self._latest[since]

    def recent_daily(self, days: int, since: date | None = None) -> tuple[date | None, pd.DataFrame]:
        """(latest graded date, daily rows of the ``days`` days up to it); (None, empty) before any grading.
        ``since``: the earliest date at work (see ``latest_graded``)."""
        end = self.latest_graded(since)
        if end is None:
            return None, self._typed_daily(pd.DataFrame())
        params = {"end": Param(end, "DATE"), "days": days}
        return end, self._typed_daily(self.engine.query_frame(q.DAILY_RECENT, params))

    def daily_between(self, start: date, end: date) -> pd.DataFrame:
        return self._typed_daily(self.engine.query_frame(q.DAILY_BETWEEN, {"start": start, "end": end}))

    @staticmethod
    def _typed_daily(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in q.DAILY_COLUMNS})
        frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
        for column in _FLOAT_COLUMNS:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        frame["n_clv"] = pd.to_numeric(frame["n_clv"], errors="coerce").fillna(0).astype("int64")  # NULL before 012
        frame["in_sample"] = frame["in_sample"].astype(bool)
        return frame

    def paired(
        self, challenger: str, champion: str, after: date | None, days: int | None, bet_price: float = DEFAULT_BET_PRICE
    ) -> pd.DataFrame:
        """Both models graded on the same player-games after ``after``, over the last ``days`` days
        they share, or all of them when ``days`` is None (see ``queries.PAIRED``); break-even at
        ``bet_price`` for rows without a price."""
        end = self.latest_graded()
        if end is None:
            return _no_pairs()
        params = {"challenger": challenger, "champion": champion, "after": Param(after or _NO_BOUND, "DATE"),
                  "end": Param(end, "DATE"), "days": Param(days, "INT64"),
                  "bet_price": Param(bet_price, "FLOAT64")}  # fmt: skip
        frame = self.engine.query_frame(q.PAIRED, params)
        if frame.empty:
            return _no_pairs()
        frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
        return frame

    def paired_many(
        self, afters: dict[str, date | None], champion: str, bet_price: float = DEFAULT_BET_PRICE
    ) -> dict[str, pd.DataFrame]:
        """``paired(challenger, champion, after, None, bet_price)`` for every challenger → after in
        ``afters``, in one read (``queries.PAIRED_MANY``): the same rows, each challenger's own."""
        end = self.latest_graded()
        if end is None or not afters:
            return {c: _no_pairs() for c in afters}
        params = {**_many(afters, champion), "end": Param(end, "DATE"), "days": Param(None, "INT64"),
                  "bet_price": Param(bet_price, "FLOAT64")}  # fmt: skip
        frame = self.engine.query_frame(q.PAIRED_MANY, params)
        if not frame.empty:
            frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
        out = {}
        for challenger, after in afters.items():
            own = _own(frame, challenger, after)
            out[challenger] = own if not own.empty else _no_pairs()
        return out

    def daily_clv(self, challenger: str, champion: str, after: date | None) -> pd.DataFrame:
        """Both models' daily no-vig CLV per bet on the dates after ``after`` both have it
        (``queries.DAILY_CLV_PAIRS``: game_date, clv_a, clv_b)."""
        params = {"challenger": challenger, "champion": champion, "after": Param(after or _NO_BOUND, "DATE")}
        return self.engine.query_frame(q.DAILY_CLV_PAIRS, params).drop(columns="challenger", errors="ignore")

    def daily_clv_many(self, afters: dict[str, date | None], champion: str) -> dict[str, pd.DataFrame]:
        """``daily_clv(challenger, champion, after)`` for every challenger → after, in one read."""
        if not afters:
            return {}
        frame = self.engine.query_frame(q.DAILY_CLV_PAIRS_MANY, _many(afters, champion))
        dates = pd.to_datetime(frame["game_date"]).dt.date if not frame.empty else None
        return {c: _own(frame, c, after, dates) for c, after in afters.items()}

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


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=np.float64) for c in PAIRED_COLUMNS})


def _many(afters: dict[str, date | None], champion: str) -> dict[str, Any]:
    """The parameters of a ``*_MANY`` read: every challenger, from the earliest of their bounds."""
    earliest = min((a or _NO_BOUND for a in afters.values()), default=_NO_BOUND)
    return {"challengers": Param(sorted(afters), "ARRAY"), "champion": champion, "after": Param(earliest, "DATE")}


def _own(frame: pd.DataFrame, challenger: str, after: date | None, dates: pd.Series | None = None) -> pd.DataFrame:
    """One challenger's rows of a ``*_MANY`` read after its own bound, shaped as its own read's."""
    if frame.empty:
        return frame.drop(columns="challenger", errors="ignore")
    days = frame["game_date"] if dates is None else dates
    keep = (frame["challenger"] == challenger) & (days > (after or _NO_BOUND))
    return frame[keep].drop(columns="challenger").reset_index(drop=True)


def _as_date(value: Any) -> date | None:
    """A DATE cell from either engine (date, Timestamp or NULL) as a ``date``."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def _type(column: str) -> str:
    if column == "model_id":
        return "STRING"
    figure = column.split("d_", 1)[-1]  # eval_7d_n_bets -> n_bets
    return "INT64" if figure == "n" or figure.startswith("n_") else "FLOAT64"
