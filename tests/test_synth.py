"""The synthetic season: deterministic, well-formed and NBA-like on a full season."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from common.data.synth import SeasonData, generate_season, season_dates
from common.errors import InvalidArgument


@pytest.fixture(scope="module")
def season() -> SeasonData:
    return generate_season("2025-26", seed=7)


@pytest.fixture(scope="module")
def played(season: SeasonData) -> pd.DataFrame:
    return season.player_games[season.player_games["status"] == "played"]


@pytest.fixture(scope="module")
def team_games(season: SeasonData) -> pd.DataFrame:
    g = season.games
    rows = pd.concat(
        [
            g[["game_id", "game_date", "home_team_id"]].set_axis(["game_id", "game_date", "team_id"], axis=1),
            g[["game_id", "game_date", "away_team_id"]].set_axis(["game_id", "game_date", "team_id"], axis=1),
        ]
    )
    rows = rows.sort_values(["team_id", "game_date"])
    rows["gap"] = rows.groupby("team_id")["game_date"].diff().dt.days
    return rows


def test_same_seed_gives_identical_frames(season: SeasonData) -> None:
    again = generate_season("2025-26", seed=7)
    for name in ("teams", "players", "games", "player_games", "betting_lines"):
        pd.testing.assert_frame_equal(getattr(season, name), getattr(again, name))


def test_different_seed_differs(season: SeasonData) -> None:
    other = generate_season("2025-26", seed=8)
    assert not season.player_games["points"].equals(other.player_games["points"])
    assert not season.teams["def_rating"].equals(other.teams["def_rating"])


def test_season_dates_and_validation() -> None:
    assert season_dates("2025-26") == (date(2025, 10, 21), date(2026, 4, 12))
    assert season_dates("2024-25") == (date(2024, 10, 22), date(2025, 4, 13))
    for bad in ("2025-27", "2025", "25-26", None):
        with pytest.raises(InvalidArgument):
            season_dates(bad)
    with pytest.raises(InvalidArgument):
        generate_season("2025-26", seed=-1)


def test_league_shape(season: SeasonData) -> None:
    assert len(season.teams) == 30 and season.teams["team_id"].is_unique
    assert 400 <= len(season.players) <= 500 and season.players["player_id"].is_unique
    assert season.players.groupby("team_id").size().between(13, 17).all()
    assert set(season.players["role"]) == {"star", "starter", "rotation", "bench"}
    assert len(season.games) == 1230 and season.games["game_id"].is_unique
    assert (season.games["home_team_id"] != season.games["away_team_id"]).all()
    assert (season.games["season"] == "2025-26").all()
    assert season.latest_game_date == season.games["game_date"].max().date()


def test_schedule(season: SeasonData, team_games: pd.DataFrame) -> None:
    assert team_games.groupby("team_id").size().eq(82).all()
    assert season.games["home_team_id"].value_counts().eq(41).all()
    start, end = season_dates("2025-26")
    days = season.games["game_date"].dt.date
    assert days.min() >= start and days.max() <= end
    assert days.max() >= date(2026, 4, 1), "the season should run into April"
    nightly = season.games.groupby("game_date").size()
    assert nightly.max() <= 15 and 5 <= nightly.mean() <= 10
    assert (team_games["gap"].dropna() >= 1).all(), "a team plays at most once a day"
    b2b = (team_games["gap"] == 1).groupby(team_games["team_id"]).sum()
    assert b2b.min() >= 5 and b2b.max() <= 25
    three_in_three = (team_games["gap"] == 1) & (team_games.groupby("team_id")["gap"].shift(1) == 1)
    assert not three_in_three.any()


def test_player_games_are_consistent(season: SeasonData, played: pd.DataFrame) -> None:
    pg = season.player_games
    assert set(pg["status"]) == {"played", "injured", "rest", "dnp"}
    assert len(pg) == 1230 * 2 * 15
    assert (pg["points"] >= 0).all()
    assert (pg["points"] == 2 * pg["fgm"] + pg["fg3m"] + pg["ftm"]).all()
    assert ((pg["fgm"] <= pg["fga"]) & (pg["fg3m"] <= pg["fg3a"]) & (pg["fg3a"] <= pg["fga"])).all()
    assert ((pg["fg3m"] <= pg["fgm"]) & (pg["ftm"] <= pg["fta"])).all()
    out = pg[pg["status"] != "played"]
    assert (out[["minutes", "points", "fga", "fta"]] == 0).all().all() and not out["starter"].any()
    assert played.groupby(["game_id", "team_id"])["starter"].sum().eq(5).all()
    minutes = played.groupby(["game_id", "team_id"])["minutes"].sum()
    assert np.allclose(minutes, 240, atol=0.5)
    assert played.groupby(["game_id", "team_id"]).size().min() >= 8
    team_pts = pg.groupby(["game_id", "is_home"])["points"].sum().unstack()
    assert (team_pts[True] != team_pts[False]).all(), "no ties"


def test_injuries_span_several_games(season: SeasonData) -> None:
    pg = season.player_games.sort_values(["player_id", "game_date"])
    injured = pg["status"].eq("injured")
    run_id = (injured != injured.groupby(pg["player_id"]).shift()).cumsum()
    runs = injured[injured].groupby(run_id[injured]).size()
    assert runs.max() >= 10 and (runs >= 3).sum() >= 30
    assert 0.03 <= injured.mean() <= 0.15


def test_scoring_is_nba_like(season: SeasonData, played: pd.DataFrame) -> None:
    team_pts = played.groupby(["game_id", "team_id"])["points"].sum()
    assert 108 <= team_pts.mean() <= 120
    assert 9 <= team_pts.std() <= 17
    per_player = played.groupby("player_id")["points"].agg(["mean", "size"])
    regulars = per_player[per_player["size"] >= 40]
    assert 25 <= regulars["mean"].max() <= 35
    stars = season.players.loc[season.players["role"] == "star", "player_id"]
    assert 20 <= per_player.loc[stars, "mean"].mean() <= 30
    assert played["points"].var() > played["points"].mean(), "overdispersed"
    assert 0.44 <= played["fgm"].sum() / played["fga"].sum() <= 0.50


def test_home_and_back_to_back_effects(season: SeasonData, played: pd.DataFrame, team_games) -> None:
    by_side = played.groupby(["game_id", "is_home"])["points"].sum().groupby("is_home").mean()
    assert by_side[True] > by_side[False]
    b2b = team_games.loc[team_games["gap"] == 1, ["game_id", "team_id"]]
    assert len(b2b) > 200
    tagged = played.merge(b2b.assign(b2b=True), on=["game_id", "team_id"], how="left")
    assert tagged["b2b"].fillna(False).any()


def test_betting_lines(season: SeasonData, played: pd.DataFrame) -> None:
    lines = season.betting_lines
    assert not lines.duplicated(["game_id", "player_id"]).any()
    for col in ("opening_line", "closing_line"):
        assert ((lines[col] * 2) % 2 == 1).all(), "lines sit on x.5"
    joined = lines.merge(played[["game_id", "player_id", "points"]], on=["game_id", "player_id"])
    assert len(joined) == len(lines), "lines only for players who play"
    assert 0.5 <= len(lines) / len(played) <= 0.85
    closing_mae = (joined["closing_line"] - joined["points"]).abs().mean()
    opening_mae = (joined["opening_line"] - joined["points"]).abs().mean()
    assert 4.3 <= closing_mae <= 6.0
    assert closing_mae <= opening_mae
    assert 0.45 <= (joined["points"] > joined["closing_line"]).mean() <= 0.55
