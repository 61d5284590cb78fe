"""The picks page: the champion's picks of one date and that date's results.

A pick is a row of ``champion_predictions`` (migration 018: whichever model was champion that
night) whose recommendation is OVER or UNDER, shown with the line and price it was made at
(``as_of``), the prediction, the edge and, once the game is graded, the result and units at
the bet's own price (``BET_PRICE`` where the row has none).

Queries (BigQuery): the schema check, the picks of the date (``PICKS``) and the players' names
(``alerts/queries.py:PLAYER_NAMES``) and the latest date with picks from that date on (the "next"
link stops there): 4. Without ``?date=``, the latest date with picks first (the latest graded date,
two small reads, bounds that search): 6. Every read is bounded by date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from common.alerts.queries import PLAYER_NAMES
from common.betting import OVER, UNDER
from common.dashboard import queries as q
from common.dashboard.data import DashboardData
from common.errors import InvalidArgument
from common.sql import Param

_NO_BOUND = date(1900, 1, 1)
SAMPLE_PARAMS = {"date": "2026-03-07"}  # a routable example for tests that visit every route


@dataclass(frozen=True)
class Pick:
    player: str
    model_id: str
    call: str  # OVER / UNDER
    line: float | None
    price: str  # the pick side's American odds at as_of ("" when the row has none)
    as_of: datetime | None
    prediction: float | None
    edge: float | None
    actual: int | None
    result: str  # won / lost / push / pending
    units: float | None


@dataclass(frozen=True)
class Results:
    bets: int
    won: int
    lost: int
    pushes: int
    pending: int
    units: float

    @property
    def hit_rate(self) -> float | None:
        return 100.0 * self.won / (self.won + self.lost) if self.won + self.lost else None


@dataclass(frozen=True)
class PicksPage:
    day: date | None  # None: the champion has no picks yet
    picks: tuple[Pick, ...]
    passes: int  # the champion's PASS rows that date (no bet)
    results: Results
    models: tuple[str, ...]  # the champion(s) that made them
    previous: date | None
    next: date | None
    bet_price: float


def parse_day(raw: str | None) -> date | None:
    """``?date=YYYY-MM-DD`` (None when absent); anything else is a 400 saying what is expected."""
    if raw in (None, ""):
        return None
    text = str(raw)
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        shown = text[:40] + ("…" if len(text) > 40 else "")
        raise InvalidArgument(f"date {shown!r} is not a date: give ?date=YYYY-MM-DD") from None


def _latest_picks(data: DashboardData, since: date | None = None) -> date | None:
    """The latest date with champion picks from ``since`` on (default: the latest graded date)."""
    since = since or data.grading.latest_graded() or _NO_BOUND
    rows = data.engine.query(q.LATEST_PICKS, {"since": Param(since, "DATE")})
    latest = rows[0]["latest"] if rows else None
    return None if latest is None else _as_date(latest)


def _as_date(value: Any) -> date:
    """A DATE cell from either engine (a date or a Timestamp)."""
    return pd.Timestamp(value).date()


def _result(row: dict[str, Any]) -> str:
    if row["actual_points"] is None:
        return "pending"
    if row["is_push"]:
        return "push"
    return "won" if row["is_correct"] else "lost"


def _pick(row: dict[str, Any], names: dict[int, str]) -> Pick:
    call = str(row["recommendation"])
    price = row["over_price"] if call == OVER else row["under_price"]
    graded = row["actual_points"] is not None

    def num(key: str) -> float | None:
        return None if row[key] is None else float(row[key])

    return Pick(
        player=names.get(int(row["player_id"]), f"player {row['player_id']}"),
        model_id=str(row["system_id"]),
        call=call,
        line=num("line"),
        price="" if price is None else f"{int(price):+d}",
        as_of=row["as_of"],
        prediction=num("predicted_points"),
        edge=num("edge"),
        actual=None if not graded else int(row["actual_points"]),
        result=_result(row),
        units=num("units") if graded else None,
    )


def picks_page(data: DashboardData, raw_day: str | None, bet_price: float) -> PicksPage:
    """The champion's picks of ``raw_day`` (default: the latest date with picks) and its results."""
    asked = parse_day(raw_day)
    day = asked or _latest_picks(data)
    # "next" stops at the latest date with picks (one more read, from this date on, when a date is asked)
    latest = (_latest_picks(data, asked) if asked else day) if day is not None else None
    rows = [] if day is None else data.engine.query(q.PICKS, {"day": Param(day, "DATE")})
    calls = [r for r in rows if r["recommendation"] in (OVER, UNDER)]
    ids = sorted({int(r["player_id"]) for r in calls})
    names: dict[int, str] = {}
    if ids:
        found = data.engine.query(PLAYER_NAMES, {"player_ids": Param(ids, "ARRAY")})
        names = {int(r["player_id"]): str(r["player_name"]) for r in found if r["player_name"]}
    picks = tuple(_pick(r, names) for r in calls)
    done = [p for p in picks if p.result in ("won", "lost")]
    results = Results(
        bets=len(picks),
        won=sum(p.result == "won" for p in picks),
        lost=sum(p.result == "lost" for p in picks),
        pushes=sum(p.result == "push" for p in picks),
        pending=sum(p.result == "pending" for p in picks),
        units=sum(p.units or 0.0 for p in done),
    )
    return PicksPage(
        day=day,
        picks=picks,
        passes=sum(r["recommendation"] not in (OVER, UNDER) for r in rows),
        results=results,
        models=tuple(sorted({p.model_id for p in picks})),
        previous=None if day is None or day == date.min else day - timedelta(days=1),
        next=None if day is None or latest is None or day >= latest else day + timedelta(days=1),
        bet_price=bet_price,
    )
