"""Backfill: score a range of dates in one process, with one serving set and one season read.

This is how a new challenger gets predictions for past dates. Each date is predicted as
of its own moment (PREDICT_LEAD_MINUTES before its first tip-off, ``common.features.market``),
exactly as ``modelctl predict --date D`` would; a date without games is skipped and said so.
Champion picks alerts are posted only for dates from today on: a played date's picks
are history, not advice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from common.runtime import runtime_for
from common.settings import Settings
from common.worker.worker import Worker


@dataclass(frozen=True)
class DateOutcome:
    """One date of a backfill: what was scored, or why it was skipped."""

    game_date: date
    rows: int = 0
    players: int = 0
    players_with_line: int = 0
    as_of: datetime | None = None
    skipped: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "game_date": self.game_date.isoformat(),
            "rows": self.rows,
            "players": self.players,
            "players_with_line": self.players_with_line,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "skipped": self.skipped,
        }


def backfill(
    worker: Worker, settings: Settings, dates: Sequence[date], before: Callable[[date], None] | None = None
) -> Iterator[DateOutcome]:
    """Predict every date of ``dates`` in order with ``worker``'s current set, the season read once.

    A date with no expected player is yielded as skipped; any other failure (no champion, bad
    data) stops the backfill there, the dates before it stored. ``before`` is told each date first.
    """
    from common.data.store import load_season
    from common.features import slate_targets

    season = load_season(runtime_for(settings).engine())
    today = datetime.now(UTC).date()
    for day in dates:
        if before is not None:
            before(day)
        if slate_targets(season, day).empty:
            yield DateOutcome(day, skipped="no games")
            continue
        serving, rows = worker.predict_date(day, season=season, alert=day >= today)
        models = max(len(serving.models), 1)
        moment = rows["as_of"].iloc[0].to_pydatetime() if len(rows) else None
        yield DateOutcome(
            day,
            rows=len(rows),
            players=len(rows) // models,
            players_with_line=int(rows["line"].notna().sum() // models),
            as_of=moment,
        )
