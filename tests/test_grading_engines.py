"""The grading SQL, written once, on every engine: the hand fixture's figures on DuckDB and BigQuery."""

from __future__ import annotations

import math
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from common.grading.analysis import compare_models
from common.grading.catalog import load_catalog
from common.grading.service import grade_dates
from common.grading.store import GradingStore
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from tests.support.bqtemplate import MigratedTemplate, url_of
from tests.support.migrated import migrated_store
from tests.support.settlement import assert_stored_as_by_hand, price_the_market
from tests.test_grading import D1, D2, NOW, A, B, hand_fixture


@pytest.fixture(scope="module")
def duck_hand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB registry holding the hand fixture, written once per module and copied per test."""
    path = tmp_path_factory.mktemp("hand") / "registry.duckdb"
    store = migrated_store(f"duckdb://{path}")
    hand_fixture(RegistryService(store, actor="pytest"))
    store.close()
    return path


@pytest.fixture(scope="module")
def bq_hand(bq_template: MigratedTemplate) -> MigratedTemplate:
    """The same on the emulator: a copy of the session's migrated template with the hand fixture
    written (load jobs, registry rows), itself copied (copy jobs) per test."""
    url = url_of(bq_template.emu, f"hand_{uuid.uuid4().hex[:10]}")
    bq_template.copy_to(url)
    store = RegistryStore.open(url)
    hand_fixture(RegistryService(store, actor="pytest"))
    store.close()
    return replace(bq_template, dataset=store.engine.dataset)  # type: ignore[attr-defined]


@pytest.fixture
def hand(engine_url: str, request: pytest.FixtureRequest) -> Iterator[tuple[GradingStore, RegistryService]]:
    """The hand fixture (tests/test_grading.py) at ``engine_url``, on each engine, ungraded."""
    if engine_url.startswith("bigquery://"):
        request.getfixturevalue("bq_hand").copy_to(engine_url)
    else:
        shutil.copyfile(request.getfixturevalue("duck_hand"), engine_url.removeprefix("duckdb://"))
    store = RegistryStore.open(engine_url)
    yield GradingStore(store.engine), RegistryService(store, actor="pytest")
    store.close()


def test_hand_fixture_grades_the_same_on_every_engine(hand: tuple[GradingStore, RegistryService]) -> None:
    store, registry = hand
    summary = grade_dates(store, load_catalog(registry.list), [D1, D2], NOW)
    assert (summary.graded, summary.pending, summary.void) == (10, 2, 2)
    grade_dates(store, load_catalog(registry.list), [D1, D2], NOW)  # regrade: replaced, not added
    rows = store.engine.query("SELECT system_id, COUNT(*) AS n, SUM(absolute_error) AS err FROM prediction_accuracy "
                              "GROUP BY system_id ORDER BY system_id")  # fmt: skip
    assert [(r["system_id"], r["n"], r["err"]) for r in rows] == [(A, 5, 18.0), (B, 5, 18.0)]
    evaluation = store.read_evaluation([A, B])
    assert (evaluation[A]["eval_7d_n"], evaluation[A]["eval_7d_hit_rate"]) == (5, pytest.approx(200 / 3))
    assert (evaluation[B]["eval_30d_hit_rate_edge_3plus"], evaluation[B]["evaluation_n_edge_3plus"]) == (100.0, 2)
    comparison = compare_models(store, load_catalog(registry.list), B)
    assert (comparison.n_shared, comparison.graded_days, comparison.mae_diff) == (5, 2, pytest.approx(0.0))


def test_settlement_at_the_bet_recomputed_by_hand_on_every_engine(hand: tuple[GradingStore, RegistryService]) -> None:
    """Units, ROI and both CLVs stored by the grading SQL equal the plain-Python settlement from the
    prediction rows and the snapshots (prices other than -110, pushes, a snapshot after tip-off)."""
    store, registry = hand
    price_the_market(store.engine, seed=11)
    grade_dates(store, load_catalog(registry.list), [D1, D2], NOW, bet_price=-115.0)
    totals = assert_stored_as_by_hand(store.engine, -115.0)
    assert totals["n_pushes"] > 0 and totals["n_clv"] > 0


def test_migration_012_keeps_graded_days_and_converges_when_rerun(engine_url: str) -> None:
    """model_performance_daily is rebuilt by create-copy-swap: rows graded before 012 survive (new
    columns NULL until a regrade), a re-run adds nothing, and the new columns take load-job writes."""
    store = RegistryStore.open(engine_url)
    clock = RegistryService(store).clock
    store.migrate(clock(), target=8)
    old = ("game_date, system_id, role, n, mae, bias, n_bets, n_hits, hit_rate, n_pushes, n_pass, n_edge_3plus, "
           "n_hits_edge_3plus, n_pending, n_void, in_sample, graded_at")  # fmt: skip
    insert = (f"INSERT INTO model_performance_daily ({old}) VALUES "
              "(@d, @m, 'shadow', 3, 2.5, 0.1, 2, 1, 50.0, 0, 1, 0, 0, 0, 0, FALSE, @now)")  # fmt: skip
    store.engine.run_atomic([(insert, {"d": D1, "m": A, "now": NOW}), (insert, {"d": D2, "m": B, "now": NOW})])
    assert "012_add_betting_value" in store.migrate(clock())
    # the whole swap again; 017's columns of the rebuilt table come back with it (ADD COLUMN IF NOT EXISTS)
    store.engine.run_atomic([("DELETE FROM schema_migrations WHERE version IN UNNEST(@v)", {"v": [12, 17]})])
    assert store.migrate(clock()) == ["012_add_betting_value", "017_settlement_at_the_bet"]
    store.require_current_schema()
    rows = GradingStore(store.engine).daily_between(D1, D2)
    assert [(r.game_date, r.system_id, r.n, r.mae) for r in rows.itertuples()] == [(D1, A, 3, 2.5), (D2, B, 3, 2.5)]
    assert rows["units"].isna().all() and (rows["n_clv"] == 0).all()
    registry = RegistryService(store, actor="pytest")
    hand = hand_fixture(registry)
    grade_dates(hand, load_catalog(registry.list), [D1, D2], NOW)  # a regrade writes the new columns
    rows = GradingStore(store.engine).daily_between(D1, D2)
    assert len(rows) == 4 and rows["units"].notna().all() and rows["n_clv"].sum() == 5


def test_non_finite_predictions_are_not_graded(hand: tuple[GradingStore, RegistryService]) -> None:
    """A NaN or infinite prediction (a broken model, a hand-edited row) is not graded: it would make
    every MAE, the verdict and `--json` (NaN is not JSON) meaningless."""
    store, registry = hand
    update = ("UPDATE player_prop_predictions SET predicted_points = @x "
              "WHERE system_id = @m AND game_date = @d AND player_id = @p")  # fmt: skip
    store.engine.run_atomic([(update, {"x": float("nan"), "m": B, "d": D1, "p": 1}),
                             (update, {"x": float("inf"), "m": A, "d": D1, "p": 2})])  # fmt: skip

    summary = grade_dates(store, load_catalog(registry.list), [D1, D2], NOW)

    assert summary.graded == 8
    rows = store.engine.query("SELECT system_id, COUNT(*) AS n, SUM(absolute_error) AS err FROM prediction_accuracy "
                              "GROUP BY system_id ORDER BY system_id")  # fmt: skip
    assert [(r["system_id"], r["n"]) for r in rows] == [(A, 4), (B, 4)]
    assert all(math.isfinite(r["err"]) for r in rows)
    daily = GradingStore(store.engine).daily_between(D1, D2)
    assert daily["mae"].map(math.isfinite).all() and daily["bias"].map(math.isfinite).all()


def test_non_finite_betting_lines_give_no_closing_line_value(hand: tuple[GradingStore, RegistryService]) -> None:
    """A NaN or infinite closing line (a feed glitch) is a missing closing market for CLV (both kinds),
    not a NaN mean."""
    store, registry = hand
    close = datetime(2026, 3, 1, 23, tzinfo=UTC)
    update = ("UPDATE betting_line_snapshots SET line = @x "
              "WHERE game_date = @d AND player_id = @p AND captured_at = @t")  # fmt: skip
    store.engine.run_atomic([(update, {"x": float("nan"), "d": D1, "p": 1, "t": close}),
                             (update, {"x": float("-inf"), "d": D1, "p": 2, "t": close})])  # fmt: skip

    grade_dates(store, load_catalog(registry.list), [D1, D2], NOW)

    daily = GradingStore(store.engine).daily_between(D1, D2)
    with_clv = daily[daily["n_clv"] > 0]
    assert len(with_clv) == 3 and with_clv["clv"].map(math.isfinite).all(), daily
    assert daily[daily["game_date"] == D1]["n_clv"].tolist() == [0, 1]  # B's bet on player 3 only (A passed)
    assert with_clv["clv_prob"].map(math.isfinite).all()
    rows = store.engine.query("SELECT clv_points, clv_prob FROM prediction_accuracy WHERE game_date = @d", {"d": D1})
    assert all((r["clv_points"] is None) == (r["clv_prob"] is None) for r in rows)


def test_a_closing_price_that_is_not_american_odds_is_unknown(hand: tuple[GradingStore, RegistryService]) -> None:
    """Snapshots arrive after the predictions were made, unvalidated: a closing price of +50 or -50
    (no such American odds) was settled into clv_prob as if it paid 0.5. It is now no closing price:
    clv_prob unknown for that bet, its closing line and points CLV kept, every other bet unchanged, and
    the day's mean probability CLV over the bets that have one."""
    store, registry = hand
    price_the_market(store.engine, seed=11)
    grade_dates(store, load_catalog(registry.list), [D1, D2], NOW)
    before = store.engine.query_frame("SELECT * FROM prediction_accuracy ORDER BY system_id, game_date, player_id")
    bet = before[before["clv_prob"].notna()].iloc[0]
    store.engine.run_atomic([(
        "UPDATE betting_line_snapshots SET over_price = 50, under_price = -50 "
        "WHERE game_id = @g AND player_id = @p AND game_date = @d AND captured_at = ("
        "  SELECT MAX(captured_at) FROM betting_line_snapshots AS s JOIN games AS t ON t.game_id = s.game_id "
        "  WHERE s.game_id = @g AND s.player_id = @p AND s.game_date = @d AND s.captured_at <= t.tip_off)",
        {"g": bet["game_id"], "p": int(bet["player_id"]), "d": bet["game_date"]},
    )])  # fmt: skip
    grade_dates(store, load_catalog(registry.list), [D1, D2], NOW)
    after = store.engine.query_frame("SELECT * FROM prediction_accuracy ORDER BY system_id, game_date, player_id")
    hit = (after["game_id"] == bet["game_id"]) & (after["player_id"] == bet["player_id"])
    assert after.loc[hit, "clv_prob"].isna().all() and after.loc[hit, "closing_over_price"].isna().all()
    assert (after.loc[hit, "clv_points"].to_numpy() == before.loc[hit, "clv_points"].to_numpy()).all()
    others = ["clv_prob", "units", "clv_points"]
    assert after.loc[~hit, others].equals(before.loc[~hit, others])
    # The day's clv_prob is the mean over the bets that have one, not their sum over n_clv (every bet
    # with a closing line), which pulled it toward zero.
    bets = after[after["is_correct"].notna()].assign(game_date=lambda f: pd.to_datetime(f["game_date"]).dt.date)
    want = bets.groupby(["game_date", "system_id"])["clv_prob"].mean()
    daily = GradingStore(store.engine).daily_between(D1, D2)
    daily["game_date"] = pd.to_datetime(daily["game_date"]).dt.date
    got = daily.set_index(["game_date", "system_id"])["clv_prob"].reindex(want.index)
    assert got.to_numpy() == pytest.approx(want.to_numpy(), abs=1e-9, nan_ok=True)  # emulator: 10 decimals
