"""``update_performance``: grade final game dates, summarise per model per day, refresh live evaluation.

One message on the graded-games topic names the game date(s) whose results are
final. For those dates, every prediction of every ``system_id`` is graded
against the player's actual points (``prediction_accuracy``), summarised per
model per day (``model_performance_daily``), the registry's rolling 7/14/30-day
columns of the active models are recomputed, and promotion advice is posted
when a challenger has earned it.

Idempotent by construction: each step replaces the rows of the dates it
covers, so a redelivered or repeated message gives the same rows and numbers.
Predictions whose game has no result yet are left ungraded and counted (as
are players who did not play); they are graded by a later message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from common.betting import DEFAULT_BET_PRICE
from common.errors import InvalidArgument
from common.grading.catalog import Catalog
from common.grading.figures import WINDOWS, build_daily, live_evaluation
from common.grading.store import GradingStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradingSummary:
    """What one grading run did."""

    dates: tuple[date, ...]
    graded: int
    pending: int  # no result yet
    void: int  # the player did not play
    models: int
    as_of: date | None
    evaluated: int  # active models whose registry evaluation was refreshed
    catalog_source: str
    #: dates with predictions still awaiting results: games not final yet. They are reported, not
    #: graded as zero; the next graded-games message naming them completes them.
    pending_dates: tuple[date, ...] = ()
    #: dates named but without a single prediction (nothing to grade)
    unpredicted_dates: tuple[date, ...] = ()

    def describe(self) -> str:
        span = (
            f"{self.dates[0]}..{self.dates[-1]} ({len(self.dates)} dates)"
            if len(self.dates) > 1
            else str(self.dates[0])
        )
        evaluation = (
            f"live evaluation of {self.evaluated} active models as of {self.as_of} ({self.catalog_source})"
            if self.as_of
            else "nothing graded yet"
        )
        text = (
            f"graded {self.graded} predictions of {self.models} models on {span}; "
            f"ungraded: {self.pending} awaiting results, {self.void} did not play; {evaluation}"
        )
        if self.pending_dates:
            text += f"; pending (games not final): {', '.join(map(str, self.pending_dates))}, graded by a later message"
        if self.unpredicted_dates:
            text += f"; no predictions on {', '.join(map(str, self.unpredicted_dates))}"
        return text


def grade_dates(
    store: GradingStore,
    catalog: Catalog,
    dates: Sequence[date],
    now: datetime,
    bet_price: float = DEFAULT_BET_PRICE,
) -> GradingSummary:
    """Grade ``dates`` on ``store`` with model metadata from ``catalog`` (the testable core); each bet
    is settled at its own line and price, ``bet_price`` (``BET_PRICE``) where its row has none."""
    days = tuple(sorted(set(dates)))
    if not days:
        raise InvalidArgument("no game dates to grade")
    store.grade(days, now, bet_price)
    daily = build_daily(store.daily_inputs(days, bet_price), catalog, now)
    store.write_daily(daily, days)
    as_of, evaluated = _refresh_evaluation(store, catalog, now, days[0])
    summary = GradingSummary(
        dates=days,
        graded=int(daily["n"].sum()),
        pending=int(daily["n_pending"].sum()),
        void=int(daily["n_void"].sum()),
        models=int(daily["system_id"].nunique()),
        as_of=as_of,
        evaluated=evaluated,
        catalog_source=catalog.source,
        pending_dates=tuple(sorted(set(daily.loc[daily["n_pending"] > 0, "game_date"]))),
        unpredicted_dates=tuple(d for d in days if d not in set(daily["game_date"])),
    )
    log.info(
        "%s",
        summary.describe(),
        extra={"dates": [d.isoformat() for d in days], "graded": summary.graded, "pending": summary.pending,
               "void": summary.void},
    )  # fmt: skip
    if summary.pending:
        log.warning(
            "%d predictions left ungraded: their games have no result yet",
            summary.pending,
            extra={"pending": summary.pending},
        )
    return summary


def _refresh_evaluation(store: GradingStore, catalog: Catalog, now: datetime, since: date) -> tuple[date | None, int]:
    """Recompute the active models' rolling windows up to the latest graded date and store them
    (``since``: the earliest date just graded, where the search for the latest one starts)."""
    as_of, daily = store.recent_daily(max(WINDOWS), since)
    if as_of is None:
        return None, 0
    if not catalog.from_registry:
        log.warning("registry unreadable: live evaluation columns left as they were", extra={"as_of": str(as_of)})
        return as_of, 0
    rows = live_evaluation(daily, as_of, [m.model_id for m in catalog.active])
    store.update_evaluation(rows, as_of, now)
    return as_of, len(rows)
