"""The schedule of the synthetic season: its 1230 games on the game days of the season's window.

:func:`make_schedule` lays 82 games per team (41 at home) on the game days of the season's window
(:func:`common.data.season.season_dates`),
skipping Thanksgiving, Christmas Eve and the All-Star break, with weekday-dependent nightly
counts, back-to-backs but never three games in three days; :func:`team_games` reshapes the
schedule into each team's games in date order for the game simulation. The model as a whole is
described in :mod:`common.data.synth`, the public entry point.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from common.data.season import season_dates
from common.data.synth_roster import N_TEAMS, TEAMS

N_GAMES = 82
# Relative nightly game counts, Monday..Sunday (Thursday is light, Wednesday heavy).
WEEKDAY_WEIGHT = np.array([7.7, 6.2, 9.4, 4.6, 8.6, 7.2, 6.8])


def _game_days(season: str) -> list[date]:
    start, end = season_dates(season)
    year = start.year
    nov1 = date(year, 11, 1)
    thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
    feb1 = date(year + 1, 2, 1)
    all_star = feb1 + timedelta(days=(6 - feb1.weekday()) % 7 + 14)  # third Sunday of February
    blackout = {thanksgiving, date(year, 12, 24)}
    blackout |= {all_star + timedelta(days=k) for k in range(-3, 4)}  # Thursday to Wednesday
    days = (start + timedelta(days=k) for k in range((end - start).days + 1))
    return [d for d in days if d not in blackout]


def _rounds(rng: np.random.Generator) -> list[list[tuple[int, int]]]:
    """82 rounds in which every team plays once: a double round robin plus 12 mirrored rounds."""

    def round_robin() -> list[list[tuple[int, int]]]:
        arr = list(rng.permutation(N_TEAMS))
        out = []
        for _ in range(N_TEAMS - 1):
            out.append([(arr[i], arr[N_TEAMS - 1 - i]) for i in range(N_TEAMS // 2)])
            arr = [arr[0], arr[-1], *arr[1:-1]]  # circle method
        return out

    first, extra = round_robin(), round_robin()[:12]
    mirror = lambda rs: [[(b, a) for a, b in r] for r in rs]  # noqa: E731
    return first + extra + mirror(first) + mirror(extra)


def _place_games(pending: list[tuple[int, int]], targets: np.ndarray) -> list[tuple[int, int, int]]:
    """Greedy day-by-day fill: earliest pending games first, back-to-backs only to reach the target."""
    last = np.full(N_TEAMS, -10)  # day index of each team's latest game
    prev = np.full(N_TEAMS, -10)  # and of the one before, to forbid three games in three days
    placed: list[tuple[int, int, int]] = []
    for day, target in enumerate(targets):
        # Catch up when behind the planned pace so the season finishes on time.
        target = min(15, target + max(0, len(pending) - targets[day:].sum()))
        busy: set[int] = set()
        # Teams with the most games left go first, so nobody falls behind the calendar.
        left = np.bincount(np.ravel(pending), minlength=N_TEAMS) if pending else np.zeros(N_TEAMS)
        window = sorted(pending[:90], key=lambda g: -max(left[g[0]], left[g[1]]))
        for allow_b2b in (False, True):
            for game in window:
                if game not in pending:
                    continue
                if len(busy) >= 2 * target:
                    break
                pair = list(game)
                if busy & set(pair) or np.any((last[pair] == day - 1) & (prev[pair] == day - 2)):
                    continue
                if not allow_b2b and np.any(last[pair] == day - 1):
                    continue
                busy |= set(pair)
                pending.remove(game)
                placed.append((day, *game))
                prev[pair], last[pair] = last[pair], day
    return placed + _repair(placed, pending, len(targets))


def _repair(placed: list[tuple[int, int, int]], pending: list[tuple[int, int]], n_days: int) -> list:
    """Put games the greedy pass could not fit on the latest day both teams can take."""
    days: list[set[int]] = [set() for _ in range(N_TEAMS)]
    for day, h, a in placed:
        days[h].add(day)
        days[a].add(day)

    def fits(team: int, day: int) -> bool:
        taken = days[team] | {day}
        return day not in days[team] and not any({d, d + 1, d + 2} <= taken for d in range(day - 2, day + 1))

    extra = []
    for h, a in pending:
        free = [d for d in range(n_days - 1, -1, -1) if fits(h, d) and fits(a, d)]
        if not free:  # pragma: no cover - 166 days for 82 games leaves plenty of room
            raise RuntimeError("schedule generation could not place every game")
        days[h].add(free[0])
        days[a].add(free[0])
        extra.append((free[0], h, a))
    return extra


def make_schedule(rng: np.random.Generator, season: str) -> pd.DataFrame:
    """The season's games in date order, one row per game with its home and away team."""
    days = _game_days(season)
    pending = [g for r in _rounds(rng) for g in (r[i] for i in rng.permutation(len(r)))]
    weights = WEEKDAY_WEIGHT[[d.weekday() for d in days]]
    targets = np.clip(np.round(weights * len(pending) / weights.sum() + rng.normal(0, 2.0, len(days))), 1, 15)
    targets[0] = 2  # opening night is a double-header
    placed = _place_games(pending, targets)
    sched = pd.DataFrame(placed, columns=["day", "home", "away"]).sort_values(["day", "home"], kind="stable")
    yy = season[2:4]
    codes = np.array([t[0] for t in TEAMS])
    return pd.DataFrame(
        {
            "game_id": [f"002{yy}{i:05d}" for i in range(1, len(sched) + 1)],
            "game_date": pd.to_datetime([days[d] for d in sched["day"]]),
            "season": season,
            "home_team_id": codes[sched["home"].to_numpy()],
            "away_team_id": codes[sched["away"].to_numpy()],
        }
    )


def team_games(games: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each team's 82 games in date order as (30, 82) arrays."""
    index = {code: i for i, (code, _) in enumerate(TEAMS)}
    home = games["home_team_id"].map(index).to_numpy()
    away = games["away_team_id"].map(index).to_numpy()
    n = len(games)
    rows = pd.DataFrame(
        {
            "team": np.concatenate([home, away]),
            "opp": np.concatenate([away, home]),
            "game": np.tile(np.arange(n), 2),
            "home": np.repeat([True, False], n),
            "day": np.tile(games["game_date"].to_numpy(), 2),
        }
    ).sort_values(["team", "day"], kind="stable")
    out = {c: rows[c].to_numpy().reshape(N_TEAMS, N_GAMES) for c in rows.columns}
    gap = np.diff(out["day"], axis=1) / np.timedelta64(1, "D")
    out["b2b"] = np.concatenate([np.zeros((N_TEAMS, 1), bool), gap == 1], axis=1)
    return out
