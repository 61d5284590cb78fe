"""Feature extraction: exact names and order, no leakage, hand-checked values."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from common.data.synth import SeasonData, generate_season
from common.errors import InvalidArgument, InvalidModel
from common.feature_sets import BETTING_LINE_FEATURES, FEATURE_SETS, V9_FEATURES, V12_FEATURES
from common.features import (
    KEY_COLUMNS,
    MARKET_COLUMNS,
    build_feature_frame,
    build_training_frame,
    slate_targets,
    to_model_input,
)
from common.features.market import slate_as_of

TEAMS = pd.DataFrame(
    {"team_id": ["AAA", "BBB"], "def_rating": [110.0, 118.0], "off_rating": [116.0, 112.0], "pace": [100.0, 98.0]}
)
# Player 1 (team AAA) scores 10, 20, ..., 60, then misses a game injured.
DAYS = ["2025-11-01", "2025-11-03", "2025-11-05", "2025-11-07", "2025-11-08", "2025-11-10", "2025-11-12"]


def _row(game: int, day: str, player: int, team: str, home: bool, points: int, status: str = "played") -> dict:
    on = status == "played"
    return {
        "game_id": f"G{game}",
        "game_date": pd.Timestamp(day),
        "player_id": player,
        "team_id": team,
        "opponent_team_id": "BBB" if team == "AAA" else "AAA",
        "is_home": home,
        "starter": on,
        "minutes": 30.0 * on,
        "points": points,
        "fga": points // 2,
        "fgm": points // 4,
        "fg3a": 2 * on,
        "fg3m": 1 * on,
        "fta": 4 * on,
        "ftm": 2 * on,
        "status": status,
    }


def _tiny_history() -> pd.DataFrame:
    rows = []
    for g, day in enumerate(DAYS, start=1):
        aaa_home = g % 2 == 1
        injured = g == 7
        rows.append(_row(g, day, 1, "AAA", aaa_home, 0 if injured else 10 * g, "injured" if injured else "played"))
        rows.append(_row(g, day, 2, "AAA", aaa_home, 12))
        rows.append(_row(g, day, 3, "BBB", not aaa_home, 20))
        rows.append(_row(g, day, 4, "BBB", not aaa_home, 8))
    return pd.DataFrame(rows)


def _target(day: str, game: str = "G8", player: int = 1, home: bool = True) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "game_id": [game],
            "game_date": [pd.Timestamp(day)],
            "player_id": [player],
            "team_id": ["AAA"],
            "opponent_team_id": ["BBB"],
            "is_home": [home],
        }
    )


NO_LINES = pd.DataFrame(
    columns=["game_id", "game_date", "player_id", "captured_at", "line", "over_price", "under_price"]
)
AS_OF = "2026-06-01T00:00:00Z"  # after every tiny game: no snapshot is hidden by the moment


@pytest.fixture(scope="module")
def season() -> SeasonData:
    return generate_season("2025-26", seed=7)


@pytest.fixture(scope="module")
def season_frame(season: SeasonData) -> pd.DataFrame:
    return build_training_frame(season, date(2025, 10, 1), date(2026, 4, 30))


def test_columns_match_the_feature_sets() -> None:
    frame = build_feature_frame(_tiny_history(), NO_LINES, TEAMS, _target("2025-11-14"), AS_OF)
    assert list(frame.columns) == [*KEY_COLUMNS, *V12_FEATURES, *MARKET_COLUMNS]
    assert len(V12_FEATURES) == 57 and len(set(V12_FEATURES)) == 57
    assert (frame[list(V12_FEATURES)].dtypes == np.float64).all()
    v9 = to_model_input(frame, "v9")
    assert isinstance(v9, np.ndarray) and v9.dtype == np.float64 and v9.shape == (1, 33)
    np.testing.assert_array_equal(v9, frame[list(V9_FEATURES)].to_numpy())
    for name in ("v12", "v12_noveg"):
        named = to_model_input(frame, name)
        assert isinstance(named, pd.DataFrame)
        assert list(named.columns) == list(FEATURE_SETS[name].features)
    noveg = to_model_input(frame, "v12_noveg")
    assert noveg.shape[1] == 50 and not BETTING_LINE_FEATURES & set(noveg.columns)
    assert set(FEATURE_SETS["v12"].features) - set(noveg.columns) == BETTING_LINE_FEATURES


def test_to_model_input_rejects_bad_input() -> None:
    frame = build_feature_frame(_tiny_history(), NO_LINES, TEAMS, _target("2025-11-14"), AS_OF)
    with pytest.raises(InvalidArgument, match="points_avg_last_3"):
        to_model_input(frame.drop(columns=["points_avg_last_3"]), "v9")
    with pytest.raises(InvalidModel):
        to_model_input(frame, "v10")


def test_hand_checked_player_form() -> None:
    f = build_feature_frame(_tiny_history(), NO_LINES, TEAMS, _target("2025-11-14"), AS_OF).iloc[0]
    assert f["points_avg_last_3"] == pytest.approx(50.0)  # 40, 50, 60
    assert f["points_avg_last_5"] == pytest.approx(40.0)  # the injured game is not a game played
    assert f["points_avg_last_10"] == pytest.approx(35.0)
    assert f["points_avg_season"] == pytest.approx(35.0)
    assert f["points_std_last_10"] == pytest.approx(np.std([10, 20, 30, 40, 50, 60], ddof=1))
    assert (f["points_max_last_10"], f["points_min_last_10"]) == (60.0, 10.0)
    assert f["points_trend_5_vs_season"] == pytest.approx(5.0)
    assert f["points_last_game"] == 60.0 and f["minutes_last_game"] == 30.0
    assert f["games_played_season"] == 6.0
    assert f["games_missed_last_14"] == 1.0
    assert f["games_in_last_7_days"] == 3.0  # 7, 8 and 10 November
    assert f["days_rest"] == 4.0 and f["back_to_back"] == 0.0
    assert f["player_home_avg"] == pytest.approx(30.0)  # games 1, 3, 5
    assert f["player_away_avg"] == pytest.approx(40.0)  # games 2, 4, 6
    assert f["fg3_pct_last_10"] == pytest.approx(0.5) and f["ft_pct_last_10"] == pytest.approx(0.5)
    assert f["starter_rate_last_10"] == 1.0
    assert f["is_home"] == 1.0
    # feature-set version 2: 210 points in 180 minutes; 105 FGA, 12 3PA (6 made), 24 FTA
    assert f["points_per_minute_last_10"] == pytest.approx(210 / 180)
    assert f["minutes_avg_season"] == pytest.approx(30.0)
    assert f["fg3a_rate_last_10"] == pytest.approx(12 / 105) and f["fta_rate_last_10"] == pytest.approx(24 / 105)
    assert f["fg3m_avg_last_10"] == pytest.approx(1.0)


def test_team_context_uses_only_earlier_games() -> None:
    f = build_feature_frame(_tiny_history(), NO_LINES, TEAMS, _target("2025-11-14"), AS_OF).iloc[0]
    # AAA scored 10 * g + 12 in games 1-6 and 12 in game 7 (player 1 injured); BBB always 28.
    allowed = [10 * g + 12 for g in range(1, 7)] + [12]
    assert f["opponent_pts_allowed_avg"] == pytest.approx(np.mean(allowed))
    assert f["team_win_pct"] == pytest.approx(np.mean([pts > 28 for pts in allowed]))  # 5 of 7
    assert f["rest_advantage"] == 0.0  # both teams last played on 12 November
    assert f["opponent_win_pct"] == pytest.approx(2 / 7)
    # AAA's possessions: player 1's 105 FGA and 24 FTA, player 2's 7 x (6 FGA, 4 FTA)
    assert f["team_off_rating_last_10"] == pytest.approx(100 * sum(allowed) / (105 + 42 + 0.44 * (24 + 28)))
    opening = build_feature_frame(_tiny_history(), NO_LINES, TEAMS, _target("2025-11-01", "G1"), AS_OF).iloc[0]
    assert opening["opponent_def_rating"] == 118.0 and opening["team_pace"] == 100.0  # preseason priors
    assert np.isnan(opening["points_avg_last_3"]) and opening["games_played_season"] == 0.0
    assert np.isnan(opening["opponent_pts_allowed_avg"])


def test_season_features_reset_in_a_new_season() -> None:
    last_season = _tiny_history().assign(game_date=lambda h: h["game_date"] - pd.DateOffset(years=1))
    f = build_feature_frame(last_season, NO_LINES, TEAMS, _target("2025-10-22"), AS_OF).iloc[0]
    assert f["points_avg_last_3"] == pytest.approx(50.0), "recent form carries over"
    assert f["games_played_season"] == 0.0 and np.isnan(f["points_avg_season"])
    assert np.isnan(f["player_home_avg"]) and np.isnan(f["team_win_pct"])
    assert f["opponent_def_rating"] == 118.0, "only the preseason prior is left"
    assert np.isnan(f["minutes_avg_season"]) and np.isnan(f["opponent_win_pct"])
    assert f["points_per_minute_last_10"] == pytest.approx(210 / 180), "last-N ratios carry over"
    assert f["games_missed_last_14"] == 0.0 and f["rest_advantage"] == 0.0


def test_the_game_itself_never_leaks() -> None:
    history = _tiny_history()
    target = _target("2025-11-08", "G5", home=True)
    with_game = build_feature_frame(history, NO_LINES, TEAMS, target, AS_OF)
    without = build_feature_frame(history[history["game_date"] < "2025-11-08"], NO_LINES, TEAMS, target, AS_OF)
    pd.testing.assert_frame_equal(with_game, without)
    assert with_game.loc[0, "points_avg_last_3"] == pytest.approx(30.0)  # 20, 30, 40
    assert with_game.loc[0, "back_to_back"] == 1.0  # played on 7 November


def _snapshots(*rows: tuple[str, float, int, int]) -> pd.DataFrame:
    """Player 1's snapshots of game G8 (14 Nov): (captured_at, line, over_price, under_price)."""
    return pd.DataFrame(
        {
            "game_id": "G8",
            "game_date": pd.Timestamp("2025-11-14"),
            "player_id": 1,
            "captured_at": pd.to_datetime([r[0] for r in rows], utc=True, format="ISO8601"),
            "line": [r[1] for r in rows],
            "over_price": [r[2] for r in rows],
            "under_price": [r[3] for r in rows],
        }
    )


def test_lines_present_and_missing() -> None:
    """The latest snapshot at or before the moment is the line; the first one is the opening line."""
    lines = _snapshots(
        ("2025-11-13T20:00Z", 33.5, -110, -110),
        ("2025-11-14T18:00Z", 35.5, -125, -105),
        ("2025-11-15T00:30Z", 37.5, -115, -105),  # the close, after the moment
    )
    targets = pd.concat([_target("2025-11-14"), _target("2025-11-14", player=2)], ignore_index=True)
    f = build_feature_frame(_tiny_history(), lines, TEAMS, targets, "2025-11-14T21:00Z")
    lined, bare = f.iloc[0], f.iloc[1]
    assert (lined["vegas_points_line"], lined["vegas_opening_line"], lined["vegas_line_move"]) == (35.5, 33.5, 2.0)
    assert lined["has_vegas_line"] == 1.0
    assert (lined["line"], lined["over_price"], lined["under_price"]) == (35.5, -125, -105)
    assert lined["line_captured_at"] == pd.Timestamp("2025-11-14T18:00Z")
    assert lined["as_of"] == pd.Timestamp("2025-11-14T21:00Z")
    assert lined["line_vs_season_avg"] == pytest.approx(0.5)
    assert lined["line_vs_last_5_avg"] == pytest.approx(-4.5)
    assert bare["has_vegas_line"] == 0.0 and pd.isna(bare["line"]) and pd.isna(bare["over_price"])
    assert bare[["vegas_points_line", "vegas_opening_line", "vegas_line_move", "line_vs_season_avg"]].isna().all()
    assert np.isfinite(bare["implied_team_total"]), "a team total does not need a player line"


def test_a_snapshot_after_the_moment_is_never_read() -> None:
    """Moving, adding or removing snapshots captured after ``as_of`` changes no feature; a moment
    before the first snapshot has no line at all; a snapshot exactly at the moment counts."""
    base = [("2025-11-13T20:00Z", 33.5, -110, -110), ("2025-11-14T18:00Z", 35.5, -125, -105)]
    later = [("2025-11-14T21:00:01Z", 40.5, -130, +100), ("2025-11-15T00:30Z", 12.5, -105, -115)]
    target, moment = _target("2025-11-14"), "2025-11-14T21:00Z"
    before = build_feature_frame(_tiny_history(), _snapshots(*base), TEAMS, target, moment)
    after = build_feature_frame(_tiny_history(), _snapshots(*base, *later), TEAMS, target, moment)
    pd.testing.assert_frame_equal(before, after)
    early = build_feature_frame(_tiny_history(), _snapshots(*base), TEAMS, target, "2025-11-13T19:59Z").iloc[0]
    assert early["has_vegas_line"] == 0.0 and pd.isna(early["line"]) and pd.isna(early["vegas_opening_line"])
    exact = build_feature_frame(_tiny_history(), _snapshots(*base), TEAMS, target, "2025-11-14T18:00Z").iloc[0]
    assert exact["line"] == 35.5


def test_bad_inputs_are_rejected(season: SeasonData) -> None:
    with pytest.raises(InvalidArgument, match="points"):
        build_feature_frame(_tiny_history().drop(columns=["points"]), NO_LINES, TEAMS, _target("2025-11-14"), AS_OF)
    with pytest.raises(InvalidArgument):
        build_training_frame(season, date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(InvalidArgument):
        slate_targets(season, 20260201)


def _rebuilt_with(season: SeasonData, changed: pd.DataFrame, before: pd.DataFrame, day: object):  # type: ignore[no-untyped-def]
    """The season's training frame rebuilt from ``changed`` box scores; checks that no row dated
    on or before ``day`` moved, and returns the new frame and that mask."""
    after = build_training_frame(
        SeasonData(
            season.season,
            season.teams,
            season.players,
            season.games,
            changed,
            season.betting_lines,
            season.betting_line_snapshots,
        ),
        date(2025, 10, 1),
        date(2026, 4, 30),
    )
    early = before["game_date"] <= day
    features = list(V12_FEATURES)
    pd.testing.assert_frame_equal(before.loc[early, features], after.loc[early, features])
    return after, early


def test_changing_points_on_a_day_only_moves_later_features(season: SeasonData, season_frame) -> None:
    pg = season.player_games
    star = season.players.loc[season.players["role"] == "star", "player_id"].iloc[0]
    mine = pg[(pg["player_id"] == star) & (pg["status"] == "played")]
    day = mine["game_date"].iloc[len(mine) // 2]
    changed = pg.copy()
    changed.loc[mine.index[len(mine) // 2], "points"] += 25
    after, early = _rebuilt_with(season, changed, season_frame, day)
    later = (~early) & (season_frame["player_id"] == star)
    moved = ~np.isclose(season_frame.loc[later, "points_avg_season"], after.loc[later, "points_avg_season"])
    assert moved.all() and later.sum() > 5


def test_changing_a_whole_box_score_only_moves_later_features(season: SeasonData, season_frame) -> None:
    """Minutes, shots and points of one game feed every version-2 feature only after that game."""
    pg = season.player_games
    played = pg[pg["status"] == "played"]
    row = played.index[len(played) // 2]
    day, team = pg.loc[row, "game_date"], pg.loc[row, "team_id"]
    changed = pg.copy()
    changed.loc[row, ["minutes", "points", "fga", "fg3a", "fg3m", "fta"]] += [9, 20, 8, 6, 3, 5]
    after, early = _rebuilt_with(season, changed, season_frame, day)
    later_mine = (~early) & (season_frame["player_id"] == pg.loc[row, "player_id"])
    for name, rows in (
        ("points_per_minute_last_10", later_mine),
        ("fg3a_rate_last_10", later_mine),
        ("fta_rate_last_10", later_mine),
        ("minutes_avg_season", later_mine),
        ("fg3m_avg_last_10", later_mine),
        ("team_off_rating_last_10", (~early) & (season_frame["team_id"] == team)),
    ):
        first = season_frame.index[rows][0]
        assert season_frame.loc[first, name] != after.loc[first, name], name


def test_training_frame(season: SeasonData, season_frame: pd.DataFrame) -> None:
    played = season.player_games[season.player_games["status"] == "played"]
    assert len(season_frame) == len(played)
    np.testing.assert_array_equal(season_frame["actual_points"], played["points"])
    assert 0.5 <= season_frame["has_vegas_line"].mean() <= 0.85
    lined = season_frame.dropna(subset=["closing_line"])
    joined = lined.merge(season.betting_lines, on=["game_id", "player_id"], suffixes=("", "_book"))
    assert len(joined) == len(season.betting_lines)
    assert (joined["closing_line"] == joined["closing_line_book"]).all()
    window = build_training_frame(season, date(2026, 1, 1), date(2026, 1, 31))
    assert window["game_date"].between("2026-01-01", "2026-01-31").all()
    pd.testing.assert_frame_equal(
        window[list(V12_FEATURES)].reset_index(drop=True),
        season_frame.loc[season_frame["game_date"].between("2026-01-01", "2026-01-31"), list(V12_FEATURES)].reset_index(
            drop=True
        ),
    )


def test_slate_targets(season: SeasonData) -> None:
    day = date(2026, 2, 3)
    slate = slate_targets(season, day)
    games = season.games[season.games["game_date"].dt.date == day]
    assert set(slate["game_id"]) == set(games["game_id"])
    out = season.player_games[
        (season.player_games["game_date"].dt.date == day) & season.player_games["status"].isin(["injured", "rest"])
    ]
    assert out[["game_id", "player_id"]].merge(slate[["game_id", "player_id"]]).empty
    moment = slate_as_of(season.games, day)
    frame = build_feature_frame(season.player_games, season.betting_line_snapshots, season.teams, slate, moment)
    assert len(frame) == len(slate) and frame["games_played_season"].min() >= 0
