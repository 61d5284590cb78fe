"""The betting market of the synthetic season: tip-off times and the intraday path of every prop.

* Each game tips off between 7 and 10:30 pm US Eastern, i.e. 00:00 to 03:30 UTC the day after its
  ``game_date`` (a night's games are spread over the evening, the early ones first).
* Each posted prop (a player expected to play 15+ minutes, ~5% unposted) is a series of
  ``SNAPSHOTS`` snapshots: the opening one the afternoon before (UTC 18:00-22:00 of D-1), four
  captures on game day and the closing one at tip-off itself. The book's line moves from the opening
  estimate toward its closing estimate as news arrives (the weight grows convexly with time, as most
  news lands late), so the close is the more accurate: MAE(close) < MAE(open). Lines sit on x.5.
* Prices (American odds) vary around -110: the favourite's side between -105 and -130
  (``PRICE_RANGE``), the two sides' implied probabilities summing to 1 + a hold drawn in 4-6%
  (``HOLD_RANGE``); the fair split leans to the side the book's own expectation favours at that
  line (a line rounded down is an over favourite). See :func:`prices` for the other side's range.

The opening and closing lines of ``betting_lines`` are derived from the snapshots
(:func:`opening_closing`): the first and the last snapshot at or before tip-off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TIP_MINUTES = np.array([0, 30, 60, 90, 120, 150, 180, 210])  # after 00:00 UTC of D+1 (7 pm ET)
OPEN_HOURS = (18.0, 22.0)  # UTC hours of D-1 within which a prop opens
GAME_DAY_HOURS = (14.0, 18.0, 21.5)  # UTC captures on game day (D), before the tip-offs of D+1
LAST_BEFORE_TIP_MINUTES = 45  # one more capture this long before tip-off, then the close at tip-off
SNAPSHOTS = 2 + len(GAME_DAY_HOURS) + 1
HOLD_RANGE = (0.044, 0.056)  # drawn; whole-number odds then keep the hold within 4-6%
PRICE_RANGE = (-130, -105)
MOVE_CURVE = 3.0  # weight on the closing estimate = elapsed fraction ** MOVE_CURVE (news lands late)


def tip_offs(rng: np.random.Generator, games: pd.DataFrame) -> pd.Series:
    """A tip-off (UTC, tz-aware) per game: a night's games in ascending slots, the home team's order."""
    rank = games.groupby("game_date").cumcount().to_numpy()
    night = games.groupby("game_date")["game_id"].transform("size").to_numpy()
    spread = np.minimum(rank * len(TIP_MINUTES) // np.maximum(night, 1), len(TIP_MINUTES) - 1)
    minutes = TIP_MINUTES[spread] + 30 * (rng.random(len(games)) < 0.1)  # a few late starts
    base = pd.to_datetime(games["game_date"]).dt.tz_localize("UTC") + pd.Timedelta(days=1)
    return (base + pd.to_timedelta(minutes, unit="min")).astype("datetime64[ns, UTC]").rename("tip_off")


def american(implied: np.ndarray) -> np.ndarray:
    """Whole American odds of an implied probability: negative for a favourite, positive otherwise."""
    implied = np.asarray(implied, dtype=np.float64)
    odds = np.where(implied > 0.5, -100.0 * implied / (1.0 - implied), 100.0 * (1.0 - implied) / implied)
    return np.round(odds).astype(np.int64)


def implied(price: np.ndarray) -> np.ndarray:
    """The implied probability (with the vig) of American odds."""
    price = np.asarray(price, dtype=np.float64)
    return np.where(price < 0, -price / (100.0 + np.abs(price)), 100.0 / (np.abs(price) + 100.0))


def prices(rng: np.random.Generator, estimate: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Over and under prices: a fair split from the book's median estimate vs the posted ``line``
    (rounding to x.5 leaves it up to half a point either side), plus a 4-6% hold.

    The favourite's side is priced between -105 and -130 (``PRICE_RANGE``); with a 4-6% hold
    the other side is then between about -125 and +109 (a -130 favourite leaves at most 1.06 -
    0.565 = 0.495 to the other side, i.e. +102): most pairs are both negative, around -110/-110.
    """
    sigma = 2.0 + 0.9 * np.sqrt(np.maximum(estimate, 1.0))
    fair_over = 0.5 + 0.35 * np.tanh((estimate - line) / sigma) + rng.normal(0.0, 0.008, len(line))
    hold = rng.uniform(*HOLD_RANGE, len(line))
    top = implied(np.array(PRICE_RANGE[0]))  # the dearest a side may be (-130)
    over = np.clip(fair_over * (1.0 + hold), 1.0 + hold - top, top)
    return american(over), american(1.0 + hold - over)


def _capture_times(rng: np.random.Generator, day: np.ndarray, tip: np.ndarray) -> np.ndarray:
    """(n, SNAPSHOTS) capture times as int64 nanoseconds since the epoch, increasing, last = tip-off."""
    hour = np.int64(3_600 * 10**9)
    minute = np.int64(60 * 10**9)  # whole minutes: what a database's TIMESTAMP keeps exactly
    open_at = day - 24 * hour + (rng.uniform(*OPEN_HOURS, len(day)) * 60).astype(np.int64) * minute
    middle = [day + np.int64(h * hour) for h in GAME_DAY_HOURS]
    late = tip - np.int64(LAST_BEFORE_TIP_MINUTES * 60 * 10**9)
    return np.stack([open_at, *middle, late, tip], axis=1)


def snapshots(rng: np.random.Generator, props: pd.DataFrame, opening: np.ndarray, closing: np.ndarray) -> pd.DataFrame:
    """Every prop's path from its opening to its closing estimate (both unrounded), one row a capture.

    ``props`` has game_id, game_date, player_id, tip_off and ``_book_mu`` (the book's expectation).
    """
    n = len(props)
    day = pd.to_datetime(props["game_date"]).to_numpy().astype("datetime64[ns]").astype(np.int64)
    tip = props["tip_off"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]")
    times = _capture_times(rng, day, tip.astype(np.int64))
    elapsed = (times - times[:, :1]) / (times[:, -1:] - times[:, :1])
    weight = elapsed**MOVE_CURVE
    wobble = rng.normal(0.0, 0.35, (n, SNAPSHOTS)) * (1.0 - weight) * weight * 4  # zero at both ends
    raw = opening[:, None] + (closing - opening)[:, None] * weight + wobble
    line = np.maximum(np.floor(raw), 0.0) + 0.5  # nearest x.5 below, as the books post props
    # the book prices its own estimate at each capture against the posted (rounded) line
    over, under = prices(rng, raw.ravel(), line.ravel())
    out = pd.DataFrame(
        {
            "game_id": np.repeat(props["game_id"].to_numpy(), SNAPSHOTS),
            "game_date": np.repeat(props["game_date"].to_numpy(), SNAPSHOTS),
            "player_id": np.repeat(props["player_id"].to_numpy(), SNAPSHOTS),
            "captured_at": pd.to_datetime(times.ravel(), unit="ns", utc=True),
            "line": line.ravel(),
            "over_price": over,
            "under_price": under,
        }
    )
    return out


def opening_closing(snaps: pd.DataFrame, games: pd.DataFrame) -> pd.DataFrame:
    """``betting_lines`` from the snapshots: per prop, the first and the last line at or before tip-off."""
    cols = ["game_id", "game_date", "player_id", "opening_line", "closing_line"]
    if snaps.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    tip = games.set_index("game_id")["tip_off"]
    before = snaps[snaps["captured_at"] <= snaps["game_id"].map(tip)]
    ordered = before.sort_values(["game_id", "player_id", "captured_at"], kind="stable")
    grouped = ordered.groupby(["game_id", "player_id"], sort=False)
    out = grouped.agg(game_date=("game_date", "first"), opening_line=("line", "first"), closing_line=("line", "last"))
    out = out.reset_index()[cols]
    return out.sort_values(["game_date", "game_id", "player_id"], kind="stable").reset_index(drop=True)
