"""The market as it was at a moment: the as-of rule and the line features built from it.

**The as-of rule** (one home, used by prediction, replay, training and evaluation alike): a
slate is predicted as of ``lead_minutes`` (``PREDICT_LEAD_MINUTES``, default 180) before the
first tip-off of its date. A date whose games have no tip-off time (data written before
migration 016) is taken to start at 00:00 UTC the day after (7 pm US Eastern).

**The snapshot used** by a target row (player P, game G, moment T) is the latest snapshot of
(G, P) captured at or before T; none by then means no line (the row is a PASS). Snapshots
captured after T are never read, so adding or changing them changes nothing made as of T.

Line features from it (names fixed by :mod:`common.feature_sets`; the meaning of three changed
with issue 20, when they stopped reading the closing line):

* ``vegas_points_line``: the as-of snapshot's line (was: the closing line);
* ``vegas_opening_line``: the prop's first snapshot (the opening line; known by T whenever an
  as-of snapshot exists);
* ``vegas_line_move``: as-of line minus opening line, the move *so far* (was: close minus open);
* ``has_vegas_line``, ``line_vs_season_avg``, ``line_vs_last_5_avg``: from the as-of line.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from common.errors import InvalidArgument
from common.settings import DEFAULT_LEAD_MINUTES

SNAPSHOT_COLUMNS = ("game_id", "player_id", "captured_at", "line", "over_price", "under_price")
# What a prediction row records of the market it was made in (besides its line features).
MARKET_COLUMNS = ("as_of", "line", "over_price", "under_price", "line_captured_at")


def parse_moment(text: object) -> datetime:
    """An ISO 8601 moment (``2026-01-15T21:00:00Z``, ``2026-01-15 16:00-05:00``); without an
    offset it is UTC. The CLI's ``--as-of`` and the predict function's ``as_of`` read it. Only a
    string is read (a JSON number such as ``20260115`` is refused, not taken for a basic-format
    date), and the moment must fit a nanosecond timestamp (years 1677..2262), as features hold it."""
    if not isinstance(text, str):
        raise InvalidArgument(
            f"as_of must be an ISO timestamp string like 2026-01-15T21:00:00Z, got a {type(text).__name__}"
        )
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            f"as_of must be an ISO timestamp string like 2026-01-15T21:00:00Z, got {text[:60]!r}"
        ) from None
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        pd.Timestamp(moment).as_unit("ns")
    except (OverflowError, ValueError):  # pandas' OutOfBoundsDatetime is a ValueError
        raise InvalidArgument(f"as_of is out of range (years 1677..2262), got {text[:60]!r}") from None
    return moment


def utc(values: Any) -> Any:
    """Timestamps as tz-aware UTC with nanosecond unit (naive values are taken as UTC)."""
    out = pd.to_datetime(values, utc=True)
    if isinstance(out, pd.Timestamp):
        return out.as_unit("ns")
    if isinstance(out, pd.Series):
        return out.astype("datetime64[ns, UTC]")
    return out.as_unit("ns")


def as_of_by_date(games: pd.DataFrame, lead_minutes: int = DEFAULT_LEAD_MINUTES) -> pd.Series:
    """The as-of moment of every date of ``games``: its first tip-off minus ``lead_minutes``."""
    day = pd.to_datetime(games["game_date"]).dt.normalize()
    fallback = day.dt.tz_localize("UTC") + pd.Timedelta(days=1)
    tip = utc(games["tip_off"]) if "tip_off" in games else pd.Series(pd.NaT, index=games.index)
    first = tip.fillna(fallback).groupby(day.to_numpy()).min()
    return utc(first - pd.Timedelta(minutes=lead_minutes))


def slate_as_of(games: pd.DataFrame, game_date: date, lead_minutes: int = DEFAULT_LEAD_MINUTES) -> pd.Timestamp:
    """The as-of moment of one date's slate (the same rule as :func:`as_of_by_date`)."""
    day = pd.Timestamp(game_date).normalize()
    on_day = games[pd.to_datetime(games["game_date"]).dt.normalize() == day]
    if on_day.empty:
        return utc(day.tz_localize("UTC") + pd.Timedelta(days=1) - pd.Timedelta(minutes=lead_minutes))
    return as_of_by_date(on_day, lead_minutes).iloc[0]


FINAL_AFTER = pd.Timedelta(hours=30)  # a date's box scores are final by 06:00 UTC the day after


def final_before(history: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """The box scores final by ``as_of``: games dated on or before the date of ``as_of`` - 30 h
    (a night's last game ends by 06:00 UTC the next day). Features already read only dates before
    the target's; this also holds for a moment set days before the slate."""
    return history[pd.to_datetime(history["game_date"]) <= final_through(as_of)]


def final_through(as_of: Any) -> pd.Timestamp:
    """The last game date whose box scores are final by ``as_of`` (the rule of :func:`final_before`)."""
    return (utc(as_of) - FINAL_AFTER).tz_localize(None).normalize()


def _latest(snaps: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    """Per target row, the latest snapshot of its (game, player) captured at or before its ``as_of``."""
    right = snaps.loc[:, list(SNAPSHOT_COLUMNS)].rename(columns={"captured_at": "line_captured_at"})
    right = right.assign(line_captured_at=utc(right["line_captured_at"]))
    right = right.dropna(subset=["line_captured_at"]).sort_values("line_captured_at", kind="stable")
    left = tgt.sort_values("as_of", kind="stable")
    merged = pd.merge_asof(
        left,
        right,
        left_on="as_of",
        right_on="line_captured_at",
        by=["game_id", "player_id"],
        allow_exact_matches=True,
        direction="backward",
    )
    return merged


def line_features(snaps: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    """The market as of each target's ``as_of``: the snapshot used and the line features from it."""
    tgt = tgt.drop(columns=[c for c in ("line", "over_price", "under_price") if c in tgt.columns])
    snaps = snaps.assign(game_id=snaps["game_id"].astype(str), player_id=snaps["player_id"].astype(np.int64))
    tgt = tgt.assign(game_id=tgt["game_id"].astype(str), player_id=tgt["player_id"].astype(np.int64))
    tgt = _latest(snaps, tgt)
    first = snaps.sort_values("captured_at", kind="stable").drop_duplicates(["game_id", "player_id"])
    opening = first.set_index(["game_id", "player_id"])["line"].rename("_opening")
    tgt = tgt.join(opening, on=["game_id", "player_id"])
    has = tgt["line"].notna()
    tgt["vegas_points_line"] = tgt["line"].astype(np.float64)
    tgt["vegas_opening_line"] = np.where(has, tgt["_opening"], np.nan)
    tgt["vegas_line_move"] = tgt["vegas_points_line"] - tgt["vegas_opening_line"]
    tgt["has_vegas_line"] = has.astype(np.float64)
    tgt["line_vs_season_avg"] = tgt["vegas_points_line"] - tgt["points_avg_season"]
    tgt["line_vs_last_5_avg"] = tgt["vegas_points_line"] - tgt["points_avg_last_5"]
    for side in ("over_price", "under_price"):
        tgt[side] = tgt[side].astype("Int64")
    return tgt
