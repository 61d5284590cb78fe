"""Calibration of one model: realised hit rate per predicted-edge bucket, OVER and UNDER apart,
with counts, 95% Wilson intervals and the break-even of the prices bet (``common/betting.py``).

One query (``queries.CALIBRATION``) over the out-of-sample dates of the charted window; the
SVG is a dot plot (one column per bucket, a dot and whisker per side, break-even dashed)
whose numbers are all in the table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from common.betting import EDGE_BUCKET_BOUNDS, EDGE_BUCKETS, MIN_EDGE, OVER, UNDER
from common.dashboard import queries as q
from common.dashboard.charts import Plot, nice_ticks, tick_format
from common.grading.uncertainty import wilson
from common.sql import Engine, Param

#: the buckets a bet can fall in (below MIN_EDGE is a PASS)
BET_BUCKETS = tuple(label for lo, label in zip(EDGE_BUCKET_BOUNDS, EDGE_BUCKETS, strict=True) if lo >= MIN_EDGE)
SIDES = (OVER, UNDER)
W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 220, 64, 12, 12, 28


@dataclass(frozen=True)
class Cell:
    """One side in one bucket: bets, hits, hit rate with its interval, break-even (percent)."""

    side: str
    bucket: str
    n_bets: int
    n_hits: int
    hit_rate: float | None
    low: float | None
    high: float | None
    break_even: float | None
    x: float = 0.0  # dot-plot geometry
    y: float = 0.0
    y_low: float = 0.0
    y_high: float = 0.0


@dataclass(frozen=True)
class Calibration(Plot):
    cells: tuple[Cell, ...]  # SIDES × BET_BUCKETS, in that order
    start: date | None
    end: date | None
    break_even: float | None  # over every bet shown
    ref_y: float
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]

    @property
    def empty(self) -> bool:
        return not any(c.n_bets for c in self.cells)

    def side(self, name: str) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.side == name)


def read(engine: Engine, model_id: str, train_end: date, start: date, end: date, bet_price: float) -> list[Any]:
    """The CALIBRATION rows of ``model_id`` on its out-of-sample dates of ``start..end``."""
    first = max(start, train_end + timedelta(days=1))
    params = {"model_id": model_id, "start": Param(first, "DATE"), "end": Param(end, "DATE"),
              "bet_price": Param(bet_price, "FLOAT64")}  # fmt: skip
    return list(engine.query(q.CALIBRATION, params))


def calibration(rows: list[Any], start: date | None, end: date | None) -> Calibration:
    """The table and dot plot from CALIBRATION rows."""
    got = {(str(r["recommendation"]), str(r["edge_bucket"])): r for r in rows}
    cells, be_sum, bets = [], 0.0, 0
    for side in SIDES:
        for bucket in BET_BUCKETS:
            r = got.get((side, bucket))
            n, hits = int(r["n_bets"]) if r else 0, int(r["n_hits"]) if r else 0
            rate = wilson(hits, n).scaled(100.0)
            be = r["break_even_sum"] if r else None
            cells.append(Cell(side, bucket, n, hits, rate.estimate, rate.low, rate.high,
                              None if be is None or not n else 100.0 * float(be) / n))  # fmt: skip
            if be is not None and n:
                be_sum, bets = be_sum + float(be), bets + n
    even = 100.0 * be_sum / bets if bets else None
    values = [v for c in cells for v in (c.low, c.high) if v is not None] + ([even] if even is not None else [])
    low, high, ticks = nice_ticks(min(values, default=40.0), max(values, default=60.0))
    fmt = tick_format(ticks)

    def y(v: float) -> float:
        return (H - BOTTOM) - (H - BOTTOM - TOP) * (v - low) / (high - low)

    slot = (W - RIGHT - LEFT) / len(BET_BUCKETS)
    placed = tuple(
        Cell(**{**c.__dict__, "x": LEFT + slot * (BET_BUCKETS.index(c.bucket) + (0.35 if c.side == OVER else 0.65)),
                "y": y(c.hit_rate) if c.hit_rate is not None else 0.0,
                "y_low": y(c.low) if c.low is not None else 0.0, "y_high": y(c.high) if c.high is not None else 0.0})
        for c in cells
    )  # fmt: skip
    return Calibration(
        cells=placed, start=start, end=end, break_even=even,
        ref_y=y(even) if even is not None else -1.0,
        y_ticks=tuple((y(v), fmt(v)) for v in ticks),
        x_ticks=tuple((LEFT + slot * (i + 0.5), b) for i, b in enumerate(BET_BUCKETS)),
        width=W, height=H, left=LEFT, right_edge=W - RIGHT, top=TOP, bottom_edge=H - BOTTOM,
    )  # fmt: skip
