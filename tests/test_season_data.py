"""Seasons of history and the season data's schema check, through `modelctl data` and the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.data.store import load_season, write_season
from common.data.synth import HOLD_RANGE, PRICE_RANGE, SeasonData, generate_season
from common.data.synth_market import implied
from common.errors import InvalidData
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.sql import open_engine
from tests.support.migrated import migrated_store

MODELCTL = Path(sys.executable).with_name("modelctl")


def modelctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MODELCTL), *args], capture_output=True, text=True, timeout=300, env=dict(os.environ))


@pytest.fixture(scope="module")
def season() -> SeasonData:
    return generate_season("2025-26", seed=7)


def _migrated() -> str:
    url = os.environ["MODEL_REGISTRY_URL"]
    migrated_store(url)
    return url


def test_generate_adds_or_replaces_one_season_and_keeps_the_others() -> None:
    url = _migrated()
    assert modelctl("data", "generate", "--season", "2024-25", "--seed", "7").returncode == 0
    first = json.loads(modelctl("data", "generate", "--season", "2025-26", "--seed", "7", "--json").stdout)
    assert first["seasons"] == 2 and first["first_date"] == "2024-10-22" and first["last_date"] == "2026-04-12"
    assert 0.5 < first["closing_line_coverage"]["min"] <= first["closing_line_coverage"]["mean"] <= 1
    engine = open_engine(url)
    newer = "SELECT * FROM player_games WHERE game_date >= '2025-07-01' ORDER BY game_id, player_id"
    before = engine.query_frame(newer)
    again = modelctl("data", "generate", "--season", "2024-25", "--seed", "8", "--json")  # replace the older one
    assert again.returncode == 0, again.stderr
    counts = {
        t: engine.query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]
        for t in ("teams", "players", "games", "player_games", "betting_lines", "betting_line_snapshots")
    }
    one = generate_season("2025-26", seed=7)
    assert counts["games"] == 2 * 1230 and counts["teams"] == 60 and counts["players"] == 2 * len(one.players)
    assert counts["betting_line_snapshots"] == len(one.betting_line_snapshots) + len(
        generate_season("2024-25", seed=8).betting_line_snapshots
    )
    after = engine.query_frame(newer)
    pd.testing.assert_frame_equal(before, after)  # the other season is untouched
    both = load_season(engine)
    assert both.season == "2025-26" and set(both.games["season"]) == {"2024-25", "2025-26"}


def test_features_cross_the_season_boundary(season: SeasonData) -> None:
    """Last-N form carries over the summer; season-to-date figures reset; team priors are the
    target season's own."""
    from common.features import build_training_frame

    older = generate_season("2024-25", seed=7)
    both = SeasonData(
        "2025-26",
        *(pd.concat([getattr(older, t), getattr(season, t)], ignore_index=True) for t in
          ("teams", "players", "games", "player_games", "betting_lines", "betting_line_snapshots")),
    )  # fmt: skip
    frame = build_training_frame(both, pd.Timestamp("2025-10-21").date(), pd.Timestamp("2025-10-23").date())
    opener = frame.iloc[0]
    assert opener["games_played_season"] == 0 and np.isnan(opener["points_avg_season"])
    assert not np.isnan(opener["points_avg_last_10"]), "form carries over from last season"
    team = season.teams.set_index("team_id").loc[opener["team_id"]]
    assert opener["team_pace"] == pytest.approx(team["pace"]), "the prior of the target's season"


def test_the_market_of_the_synthetic_season(season: SeasonData) -> None:
    snaps, games = season.betting_line_snapshots, season.games
    over, under = snaps["over_price"].to_numpy(), snaps["under_price"].to_numpy()
    hold = implied(over) + implied(under) - 1
    assert (hold >= 0.04).all() and (hold <= 0.06).all()
    favourite = np.minimum(over, under)
    assert favourite.min() >= PRICE_RANGE[0] and favourite.max() <= PRICE_RANGE[1] + 5
    assert np.median(favourite) in range(-125, -108) and (np.abs(np.concatenate([over, under])) >= 100).all()
    assert HOLD_RANGE[0] >= 0.04 and HOLD_RANGE[1] <= 0.06
    tip = snaps["game_id"].map(games.set_index("game_id")["tip_off"])
    assert (snaps["captured_at"] <= tip).all()
    per_prop = snaps.assign(tip=tip).groupby(["game_id", "player_id"])
    first, last = per_prop["captured_at"].min(), per_prop["captured_at"].max()
    day = pd.to_datetime(per_prop["game_date"].first()).dt.tz_localize("UTC")
    assert (first < day).all(), "a prop opens the day before"
    assert (last == per_prop["tip"].first()).all(), "and closes at tip-off"
    assert per_prop.size().min() >= 5
    played = season.player_games[["game_id", "player_id", "points", "game_date"]]
    lines = season.betting_lines.merge(played, on=["game_id", "player_id", "game_date"])
    close_mae = (lines["closing_line"] - lines["points"]).abs().mean()
    open_mae = (lines["opening_line"] - lines["points"]).abs().mean()
    assert close_mae < open_mae
    # nights cluster: the nightly mean miss of the close varies more than independent props would
    miss = lines["points"] - lines["closing_line"]
    nightly_sd = miss.groupby(lines["game_date"]).mean().std()
    shuffled = pd.Series(np.random.default_rng(0).permutation(miss.to_numpy()), index=miss.index)
    assert nightly_sd > 1.1 * shuffled.groupby(lines["game_date"]).mean().std()


def _broken(season: SeasonData) -> SeasonData:
    snaps = season.betting_line_snapshots.copy()
    snaps.loc[0, "over_price"] = 50  # not American odds
    snaps.loc[1, "captured_at"] = snaps.loc[1, "captured_at"] + pd.Timedelta(days=2)  # after tip-off
    snaps = pd.concat([snaps, snaps.iloc[[10]]], ignore_index=True)  # a repeated key
    pg = season.player_games.copy()
    played = pg.index[pg["status"] == "played"]
    pg.loc[played[0], "minutes"] = -3.0
    pg.loc[played[1], "points"] += 1  # no longer 2*fgm + fg3m + ftm
    return replace(season, player_games=pg, betting_line_snapshots=snaps)


def test_a_failing_load_is_refused_with_every_reason_and_writes_nothing(season: SeasonData) -> None:
    url = _migrated()
    engine = open_engine(url)
    with pytest.raises(InvalidData) as refused:
        write_season(engine, _broken(season))
    reasons = "\n".join(refused.value.reasons)
    for expected in ("not American odds", "after their game's tip-off", "repeat a key", "minutes outside",
                     "points != 2*fgm"):  # fmt: skip
        assert expected in reasons, reasons
    assert engine.query("SELECT COUNT(*) AS n FROM player_games")[0]["n"] == 0


def test_data_check_lists_every_problem_of_stored_data_and_reports_coverage(season: SeasonData) -> None:
    url = _migrated()
    write_season(open_engine(url), season)
    ok = modelctl("data", "check", "--date", "2026-01-15", "--json")
    assert ok.returncode == 0, ok.stderr
    day = json.loads(ok.stdout)["coverage"]
    assert len(day) == 1 and day[0]["played"] > 0 and 0.5 < day[0]["coverage"] <= 1
    open_engine(url).run_atomic([
        ("UPDATE betting_line_snapshots SET under_price = 99 WHERE game_date = '2026-01-15'", {}),
        ("UPDATE player_games SET fgm = fga + 1 WHERE game_date = '2026-01-16' AND status = 'played'", {}),
    ])  # fmt: skip
    bad = modelctl("data", "check")
    assert bad.returncode == 2
    assert "under_price that is not American odds" in bad.stderr and "have fgm > fga" in bad.stderr


def test_migration_018_converges_when_rerun_and_keeps_one_season_data(engine_url: str) -> None:
    """Rows written before 018 have no season; a re-run of 018 changes nothing; the next generate
    of a season replaces them (they were the one season such a database held)."""
    store = RegistryStore.open(engine_url)
    clock = RegistryService(store).clock
    store.migrate(clock(), target=17)
    store.engine.run_atomic([("INSERT INTO teams (team_id, name, def_rating, off_rating, pace) "
                              "VALUES ('OLD', 'Old Team', 110.0, 110.0, 98.0)", {})])  # fmt: skip
    assert store.migrate(clock(), target=18) == ["018_seasons_of_history"]
    store.engine.run_atomic([("DELETE FROM schema_migrations WHERE version = @v", {"v": 18})])
    assert store.migrate(clock(), target=18) == ["018_seasons_of_history"]
    assert store.engine.query("SELECT season FROM teams") == [{"season": None}]
    store.migrate(clock())  # and the later migrations
    small = generate_season("2025-26", seed=5)
    opening_night = lambda f: f[pd.to_datetime(f["game_date"]) == "2025-10-21"].reset_index(drop=True)  # noqa: E731
    tables = ("games", "player_games", "betting_lines", "betting_line_snapshots")
    day = replace(small, **{t: opening_night(getattr(small, t)) for t in tables})
    write_season(store.engine, day, into_production=True)  # a bigquery:// URL here is the emulator
    teams = store.engine.query("SELECT DISTINCT season FROM teams")
    assert teams == [{"season": "2025-26"}]


@pytest.mark.parametrize("label", ["1600-01", "2299-00"])
def test_a_season_out_of_range_is_refused_and_writes_nothing(label: str) -> None:
    """A well-formed label whose dates no timestamp holds was 'unexpected error: OutOfBoundsDatetime'."""
    url = _migrated()
    done = modelctl("data", "generate", "--season", label)
    assert done.returncode == 2 and "season" in done.stderr and "out of range" in done.stderr, done.stderr
    assert open_engine(url).query("SELECT COUNT(*) AS n FROM games")[0]["n"] == 0
