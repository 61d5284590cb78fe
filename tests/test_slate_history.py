"""Issue 22: the slate's history as the engine ranks it (``SLATE_HISTORY``, ``TEAM_GAMES``), on both
engines, for the histories the synthetic seasons do not hold: a player with more than 150 games,
one back after a season-long absence, one with two played games on one day (ranked by date, then
game id), one with a single game and one who never played.

Each player's last 20 played games, his rows not played in the last 14 days and the EWM at his
last game must be what training computes from the whole frame in memory (rows sorted by date,
ties in load order: ``Windows.ewm``); nothing dated on or after the slate's date is read; the team
games hold the totals of every game of the history.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from common.data.queries import REPLACE_SEASON
from common.data.slate import load_slate
from common.features.windows import EWM_GAMES, LAST_GAMES, Windows, first_rows
from common.registry.store import RegistryStore
from common.sql import engine_session, open_engine

DAY = date(2024, 3, 1)  # the slate
AS_OF = "2024-03-01T18:00:00Z"  # box scores final through 2024-02-29
START = date(2021, 10, 1)
LONG, BACK, TIES, ONE, NEVER = 1, 2, 3, 4, 5  # the players


def _row(player: int, day: date, n: int, status: str = "played") -> dict[str, object]:
    points = (player * 7 + n * 13) % 41 if status == "played" else 0
    return {
        "game_id": f"G{day:%Y%m%d}{player}{n % 10}",
        "game_date": day,
        "player_id": player,
        "team_id": f"T{player}",
        "opponent_team_id": f"O{player}",
        "is_home": n % 2 == 0,
        "starter": n % 3 != 0,
        "minutes": float(20 + n % 15) if status == "played" else 0.0,
        "points": points,
        "fga": points // 2 + 3,
        "fgm": points // 3,
        "fg3a": 2,
        "fg3m": 1,
        "fta": 4,
        "ftm": 3,
        "status": status,
    }


def _history() -> pd.DataFrame:
    rows = []
    long_days = [DAY - timedelta(days=1 + 3 * k) for k in range(200)]  # 200 games, every third day
    rows += [_row(LONG, d, k) for k, d in enumerate(long_days)]
    rows += [_row(LONG, DAY - timedelta(days=2 + 3 * k), k, "dnp") for k in range(10)]  # not played
    rows += [_row(LONG, DAY + timedelta(days=k), 60 + k) for k in range(3)]  # after the moment: unread
    back_days = [START + timedelta(days=2 * k) for k in range(30)]  # 2021-22, then a season away
    back_days += [DAY - timedelta(days=2 + 2 * k) for k in range(8)]  # back for eight games
    rows += [_row(BACK, d, k) for k, d in enumerate(back_days)]
    tie_days = [DAY - timedelta(days=1 + 2 * k) for k in range(170)]
    rows += [_row(TIES, d, k) for k, d in enumerate(tie_days)]
    for k in (5, 97):  # a second game on one day: in his last 20, and far back in his last 150
        rows.append({**_row(TIES, tie_days[k], 500 + k), "game_id": f"G{tie_days[k]:%Y%m%d}{TIES}Z"})
    rows.append(_row(ONE, DAY - timedelta(days=40), 1))
    rows += [_row(NEVER, DAY - timedelta(days=3 + k), k, "dnp") for k in range(3)]
    slate = [_row(p, DAY, 99) for p in (LONG, BACK, TIES, ONE, NEVER)]
    return pd.DataFrame(rows + slate)


@pytest.fixture
def read(store: RegistryStore) -> tuple[pd.DataFrame, object]:
    """The history written to a migrated registry on each engine, and the slate read back."""
    frame = _history()
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    delete = (REPLACE_SEASON["player_games"], {"first_date": START, "last_date": DAY + timedelta(days=10)})
    engine = open_engine(store.url)
    engine.write_frame("player_games", frame, delete)
    with engine_session(store.url):
        return frame, load_slate(engine, DAY, 60, AS_OF)


def _expected(frame: pd.DataFrame) -> pd.DataFrame:
    """Per player, training's view: played rows before the slate in (date, load) order, last 20."""
    before = frame[pd.to_datetime(frame["game_date"]) < pd.Timestamp(DAY)]
    played = before[before["status"] == "played"].sort_values(["player_id", "game_date"], kind="stable")
    return played.reset_index(drop=True)


def test_the_last_games_and_rows_not_played_are_the_definitions(read: tuple[pd.DataFrame, object]) -> None:
    frame, slate = read
    history = slate.inputs.history
    assert history["game_date"].max() < pd.Timestamp(DAY), "nothing on or after the slate's date"
    want = _expected(frame).groupby("player_id").tail(LAST_GAMES)
    got = history[history["status"] == "played"]
    assert sorted(got["game_id"]) == sorted(want["game_id"])
    assert sorted(got.groupby("player_id").size().items()) == [(LONG, 20), (BACK, 20), (TIES, 20), (ONE, 1)]
    assert f"G{DAY - timedelta(days=11):%Y%m%d}{TIES}Z" in set(got["game_id"]), "both games of the tied day"
    assert (got[got["player_id"] == BACK]["game_date"] < pd.Timestamp(date(2022, 7, 1))).sum() == 12
    skipped = history[history["status"] != "played"]
    recent = frame[
        (frame["status"] != "played") & (pd.to_datetime(frame["game_date"]) >= pd.Timestamp(DAY - timedelta(days=14)))
    ]
    assert sorted(skipped["game_id"]) == sorted(
        recent[pd.to_datetime(recent["game_date"]) < pd.Timestamp(DAY)]["game_id"]
    )


def test_the_ewm_is_the_windows_sum_over_the_last_150(read: tuple[pd.DataFrame, object]) -> None:
    frame, slate = read
    played = _expected(frame)
    last = played.groupby("player_id").tail(1).index.to_numpy()
    want = Windows(first_rows(played["player_id"].to_numpy()), last).ewm(played["points"].to_numpy(np.float64))
    given = slate.inputs.given.set_index("player_id")
    got = given.loc[played["player_id"].to_numpy()[last], "points_ewm_10"].to_numpy()
    assert np.abs(got - want).max() < 1e-9
    assert played.groupby("player_id").size()[LONG] > EWM_GAMES and played.groupby("player_id").size()[TIES] > EWM_GAMES
    assert NEVER not in set(given.index), "no played game: no sums"


def test_the_team_games_hold_every_game_of_the_history(read: tuple[pd.DataFrame, object]) -> None:
    frame, slate = read
    history, teams = slate.inputs.history, slate.inputs.team_games
    keys = set(zip(history["game_id"].astype(str), history["team_id"].astype(str), strict=True))
    have = teams.set_index(["game_id", "team_id"])
    assert keys <= set(have.index), "a history game without its team totals"
    sums = frame.groupby(["game_id", "team_id"])["points"].sum()
    assert all(have.loc[k, "pts"] == sums.loc[k] for k in keys)
    old = teams[teams["game_date"] < pd.Timestamp(date(2023, 7, 1))]
    assert set(old["game_id"]) <= set(history["game_id"]), "before the season: the history's own games only"
