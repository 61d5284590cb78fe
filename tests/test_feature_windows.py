"""Issue 22: a slate's features read from the rows it needs only, exact on every engine.

The reference is the definition before issue 22 (``tests/support/features_before_22.py``: pandas
``groupby().rolling()`` over whole frames). Serving (``load_slate`` + ``features_for``: SQL with
date filters on the registry) and training (``build_training_frame`` on whole frames) must both
equal it within 1e-9 for V9 (33 features) and V12 (50), across a season boundary (the end of
2024-25 and the start of 2025-26, both from the generator, as ``modelctl data generate --season
S`` writes them), and so equal each other: training/serving skew stays zero.

The one intended change, ``points_ewm_10`` over the last 150 games instead of the whole history,
is measured against pandas' whole-history EWM on a long history.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.data.slate import load_slate
from common.data.store import load_season, write_season
from common.data.synth import SeasonData, generate_season
from common.feature_sets import get_feature_set
from common.features import build_training_frame, features_for, slate_targets
from common.features.joins import dates
from common.features.market import as_of_by_date, final_before, slate_as_of, utc
from common.features.windows import EWM_GAMES, EWM_SPAN, Windows, first_rows
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.settings import DEFAULT_LEAD_MINUTES
from common.sql import engine_session, open_engine
from tests.support import features_before_22

TOLERANCE = 1e-9
OPENING_NIGHT = date(2025, 10, 21)  # 2025-26's first date: every "last N" reaches into 2024-25
LATER = date(2025, 10, 28)
MONTH_IN = date(2025, 11, 14)  # every team has 10 games of 2025-26 by then
EARLY_MOMENT = "2025-10-26T12:00:00Z"  # a moment days before LATER: box scores through 10-25 only


def _window(season: SeasonData, keep) -> SeasonData:
    dated = ("games", "player_games", "betting_lines", "betting_line_snapshots")
    return replace(season, **{t: keep(getattr(season, t)).reset_index(drop=True) for t in dated})


@pytest.fixture(scope="module")
def seasons() -> tuple[SeasonData, SeasonData]:
    """The last 8 days of 2024-25 and the first 8 of 2025-26 (small enough for the emulator)."""
    day = lambda f: pd.to_datetime(f["game_date"]).dt.date  # noqa: E731
    end = _window(generate_season("2024-25", seed=7), lambda f: f[day(f) >= date(2025, 4, 6)])
    start = _window(generate_season("2025-26", seed=7), lambda f: f[day(f) <= date(2025, 10, 28)])
    return end, start


@pytest.fixture(scope="module", params=["duckdb", pytest.param("bigquery", marks=pytest.mark.emulator)])
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, seasons: tuple[SeasonData, SeasonData]
) -> tuple[str, SeasonData]:
    """One registry per engine holding both seasons, and the seasons as the engine reads them back."""
    if request.param == "duckdb":
        url = f"duckdb://{tmp_path_factory.mktemp('windows') / 'registry.duckdb'}"
    else:
        emu = request.getfixturevalue("bq_emulator")
        url = f"bigquery://{emu.project}/t_windows_{uuid.uuid4().hex[:8]}?endpoint={emu.endpoint}"
    store = RegistryStore.open(url)
    store.migrate(RegistryService(store).clock())
    for season in seasons:
        write_season(open_engine(url), season, into_production=True)  # bigquery:// is the emulator
    return url, load_season(open_engine(url))


def _reference(season: SeasonData, day: date, moment: pd.Timestamp) -> pd.DataFrame:
    history = final_before(season.player_games, moment)
    targets = slate_targets(season, day)
    return features_before_22.build_feature_frame(history, season.betting_line_snapshots, season.teams, targets, moment)


def _assert_close(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    keys = ["game_id", "player_id"]
    got = got.assign(game_id=got["game_id"].astype(str)).sort_values(keys).reset_index(drop=True)
    want = want.assign(game_id=want["game_id"].astype(str)).sort_values(keys).reset_index(drop=True)
    assert got[keys].equals(want[keys]), f"{what}: not the same player-games"
    for name in ("v9", "v12"):
        columns = list(get_feature_set(name).features)
        a, b = got[columns].to_numpy(np.float64), want[columns].to_numpy(np.float64)
        assert (np.isnan(a) == np.isnan(b)).all(), f"{what}, {name}: NaN in different places"
        gap = np.abs(np.nan_to_num(a) - np.nan_to_num(b)).max(axis=0)
        worst = {c: float(g) for c, g in zip(columns, gap, strict=True) if g > TOLERANCE}
        assert worst == {}, f"{what}, {name}: features off by more than {TOLERANCE}"


@pytest.mark.parametrize(("day", "as_of"), [(OPENING_NIGHT, None), (LATER, None), (LATER, EARLY_MOMENT)])
def test_slate_features_from_the_engine_equal_the_definition_before(
    registry: tuple[str, SeasonData], day: date, as_of: str | None
) -> None:
    url, season = registry
    with engine_session(url):
        read = load_slate(open_engine(url), day, DEFAULT_LEAD_MINUTES, as_of)
    moment = utc(as_of) if as_of else slate_as_of(season.games, day, DEFAULT_LEAD_MINUTES)
    assert read.as_of == moment
    assert len(read.targets) > 100 and read.inputs.history["game_date"].max() < pd.Timestamp(day)
    served = features_for(read.inputs, read.targets, read.as_of)
    want = _reference(season, day, moment)
    _assert_close(served, want, f"serving {day} as of {moment}")
    if day == OPENING_NIGHT:  # the windows cross the boundary; the season values start again
        assert served["points_avg_last_10"].notna().mean() > 0.8 and served["points_avg_season"].isna().all()
    if as_of is None:  # training (whole frames in memory) reads the same values: no skew
        trained = build_training_frame(season, day, day)
        played = served.merge(trained[["game_id", "player_id"]], on=["game_id", "player_id"])
        assert len(played) == len(trained) > 100
        _assert_close(played, trained, f"training vs serving {day}")


def test_slate_reads_only_what_the_slate_needs(registry: tuple[str, SeasonData]) -> None:
    url, season = registry
    read = load_slate(open_engine(url), LATER, DEFAULT_LEAD_MINUTES)
    history = read.inputs.history
    assert set(history["player_id"]) == set(read.targets["player_id"]), "only the slate's players"
    played = history[history["status"] == "played"]
    before = played[played["game_date"] < pd.Timestamp(date(2025, 7, 1))]
    assert before.groupby("player_id").size().max() <= 20, "of last season, no more than the last 20 games"
    assert not (history["status"] != "played").any() or history.loc[
        history["status"] != "played", "game_date"
    ].min() >= pd.Timestamp(date(2025, 10, 14)), "rows not played: the last 14 days only"
    snaps = read.inputs.snapshots
    assert (utc(snaps["captured_at"]) <= read.as_of).all() and len(snaps) < len(season.betting_line_snapshots) / 5


def test_training_frame_equals_the_definition_before(seasons: tuple[SeasonData, SeasonData]) -> None:
    """Every played player-game of the first 8 days of 2025-26, each as of its date's moment."""
    season = seasons[1]
    trained = build_training_frame(season, date(2025, 10, 21), date(2025, 10, 28))
    pg = season.player_games
    targets = pg[pg["status"] == "played"]
    moments = dates(targets["game_date"]).map(as_of_by_date(season.games)).to_numpy()
    want = features_before_22.build_feature_frame(pg, season.betting_line_snapshots, season.teams, targets, moments)
    _assert_close(trained, want, "training frame")


def test_the_bounded_ewm_is_within_1e_9_of_the_whole_history() -> None:
    """The one intended change: 400 games of a player, the EWM at every one of them."""
    rng = np.random.default_rng(0)
    points = rng.integers(0, 61, 400).astype(np.float64)
    whole = pd.Series(points).ewm(span=EWM_SPAN).mean().to_numpy()
    at = np.arange(len(points))
    bounded = Windows(first_rows(np.zeros(len(points), dtype=np.int64)), at).ewm(points)
    assert np.abs(bounded - whole).max() < TOLERANCE
    assert np.abs(bounded[:EWM_GAMES] - whole[:EWM_GAMES]).max() < 1e-12, "up to 150 games: the same sum"
    assert np.abs(bounded[EWM_GAMES:] - whole[EWM_GAMES:]).max() > 0, "beyond: a bounded window, as documented"


def test_a_slate_weeks_into_the_season_equals_the_definition_before(
    tmp_path: Path, seasons: tuple[SeasonData, SeasonData]
) -> None:
    """Weeks into 2025-26 every team has played its last 10 games this season (the team games are
    then read from the season's start or the oldest box score of the slate's history, whichever is
    earlier, not from the previous season's start) and the season sums cover a dozen games, home
    and away: the features still equal the definition before."""
    day = lambda f: pd.to_datetime(f["game_date"]).dt.date  # noqa: E731
    later = _window(generate_season("2025-26", seed=7), lambda f: f[day(f) <= MONTH_IN])
    url = f"duckdb://{tmp_path / 'registry.duckdb'}"
    store = RegistryStore.open(url)
    store.migrate(RegistryService(store).clock())
    for season in (seasons[0], later):
        write_season(open_engine(url), season, into_production=True)
    season = load_season(open_engine(url))
    read = load_slate(open_engine(url), MONTH_IN, DEFAULT_LEAD_MINUTES)
    teams = read.inputs.team_games
    assert (teams[teams["game_date"] >= pd.Timestamp(date(2025, 7, 1))].groupby("team_id").size() >= 10).all()
    assert read.inputs.history["game_date"].min() < pd.Timestamp(date(2025, 7, 1)), "the last 20 reach back"
    served = features_for(read.inputs, read.targets, read.as_of)
    _assert_close(served, _reference(season, MONTH_IN, read.as_of), f"serving {MONTH_IN}")
