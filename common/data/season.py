"""Season data: the frames of one or more seasons (:class:`SeasonData`) and a season's calendar
window (:func:`season_dates`).

The serving path (``data/store.py``, the worker, the features) reads and writes these; the
synthetic generator (:mod:`common.data.synth`) produces them. They live apart from the generator
so that no function ships it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from common.errors import InvalidArgument

# First years a season may start in: its dates, tip-offs and snapshots fit nanosecond timestamps.
SEASON_YEARS = (1900, 2200)


@dataclass(frozen=True, eq=False)
class SeasonData:
    """One or more seasons: the (latest) season label and the frames of the season tables."""

    season: str
    teams: pd.DataFrame
    players: pd.DataFrame
    games: pd.DataFrame
    player_games: pd.DataFrame
    betting_lines: pd.DataFrame  # opening and closing line per prop, derived from the snapshots
    betting_line_snapshots: pd.DataFrame  # every capture of every prop: line and both prices (American odds)

    @property
    def latest_game_date(self) -> date:
        """Date of the last scheduled game in the season."""
        return self.games["game_date"].max().date()


def season_dates(season: str) -> tuple[date, date]:
    """Regular-season window for ``'YYYY-YY'``: Tuesday on/after 20 Oct to Sunday on/after 10 Apr."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", season) if isinstance(season, str) else None
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise InvalidArgument(f"season must look like '2025-26', got {season!r}")
    year = int(match[1])
    if not SEASON_YEARS[0] <= year <= SEASON_YEARS[1]:
        raise InvalidArgument(f"season {season!r} is out of range (first year {SEASON_YEARS[0]}..{SEASON_YEARS[1]})")
    start = date(year, 10, 20)
    end = date(year + 1, 4, 10)
    start += timedelta(days=(1 - start.weekday()) % 7)
    end += timedelta(days=(6 - end.weekday()) % 7)
    return start, end
