"""Grading: numbers checked against values computed by hand, idempotence, pending games, comparisons.

The hand fixture: two models (an MAE champion A, a q43 quantile shadow B), two days.

2026-03-01, game G1, everyone played: actual points p1 20, p2 10, p3 15; lines 18.5, 10.0, 16.5.
  A: p1 22.0 (edge +3.5 OVER, 20 > 18.5 won, |err| 2), p2 12.0 (+2.0 OVER, 10 = 10 push, |err| 2),
     p3 16.0 (-0.5 PASS, |err| 1)  → n 3, MAE 5/3, bias +5/3, 1 bet 1 won, 1 push, 1 pass,
     edge 3+: 1 bet 1 won.
  B: p1 17.0 (-1.5 UNDER, lost, |err| 3), p2 6.0 (-4.0 UNDER, push, |err| 4), p3 12.0 (-4.5 UNDER,
     15 < 16.5 won, |err| 3) → n 3, MAE 10/3, bias -10/3, 2 bets 1 won (50%), 1 push,
     edge 3+: 1 bet (p2's push is no bet) 1 won; below the prediction: 0 of 3.
2026-03-02, game G2: p1 30, p2 did not play (dnp), p3 8; lines 24.5, 11.5, 12.5.
             game G3 has no result yet: p4 (line 20.5) stays pending.
  A: p1 27.0 (+2.5 OVER, won, |err| 3, signed -3), p3 18.0 (+5.5 OVER, 8 < 12.5 lost, |err| 10),
     p2 void, p4 pending → n 2, MAE 6.5, bias 3.5, 2 bets 1 won, edge 3+: 1 bet 0 won.
  B: p1 23.0 (-1.5 UNDER, lost, |err| 7), p3 9.0 (-3.5 UNDER, won, |err| 1, signed +1) → n 2,
     MAE 4.0, bias -3.0, 2 bets 1 won, edge 3+: 1 bet 1 won; below the prediction: 1 of 2.
Both days (out of sample: training ended 2026-02-15):
  A: n 5, MAE 18/5 = 3.6, hit rate 2/3, edge 3+ 1/2.   B: n 5, MAE 18/5 = 3.6, hit rate 2/4,
  edge 3+ 2/2, coverage (0 + 1)/5 = 0.2.
Betting value at -110 (a win pays w = 100/110, a loss costs 1):
  units: (D1, A) w (1 bet); (D1, B), (D2, A), (D2, B) w - 1 (2 bets each); A 2w - 1, B 2w - 2 in all.
  snapshots (all at -110 / -110): at the bet the prediction's line; closing (the last snapshot at or
  before tip-off; G1 tips off at 23:30, a later snapshot at 30.0 is ignored; G2's tip-off is unknown,
  its last snapshot closes): D1 p1 19.0, p2 10.0, p3 17.0; D2 p1 25.5, p3 none.
  CLV of the bets with a closing line (OVER: closing - bet line, UNDER: bet line - closing):
  (D1, A) p1 +0.5 → 0.5 (1); (D1, B) p1 -0.5, p3 -0.5 → -0.5 (2); (D2, A) p1 +1.0 (1); (D2, B) p1 -1.0 (1).
  pinball of B at 0.43, u = actual - prediction: D1 u = 3, 4, 3 → 0.43 * 10/3; D2 u = 7, -1 →
  (0.43 * 7 + 0.57 * 1) / 2 = 1.79.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.app import open_registry
from common.errors import Conflict
from common.grading.analysis import compare_models
from common.grading.catalog import BUILTIN, Catalog, load_catalog
from common.grading.compare import KEEP_WATCHING, PROMOTE, RETIRE, compare_pairs
from common.grading.service import grade_dates
from common.grading.store import GradingStore
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.settings import Settings
from tests.support.cli import modelctl_here
from tests.support.grading import box_scores, predictions, registry_model, synthetic, write, write_market
from tests.support.migrated import migrated_store
from tests.support.registry import engine_of, hand_event, store_of
from tests.support.settlement import assert_stored_as_by_hand, price_the_market, settle_by_hand

A = "catboost_v9_mae_train1102_0215"
B = "catboost_v9_q43_train1102_0215"
D1, D2 = date(2026, 3, 1), date(2026, 3, 2)
NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
MODELCTL = Path(sys.executable).with_name("modelctl")


def hand_fixture(registry: RegistryService) -> GradingStore:
    games = box_scores(
        [
            ("G1", D1, 1, 20, "played"), ("G1", D1, 2, 10, "played"), ("G1", D1, 3, 15, "played"),
            ("G2", D2, 1, 30, "played"), ("G2", D2, 2, 0, "dnp"), ("G2", D2, 3, 8, "played"),
        ]
    )  # fmt: skip
    preds = predictions(
        [
            ("G1", D1, 1, A, "champion", 22.0, 18.5), ("G1", D1, 2, A, "champion", 12.0, 10.0),
            ("G1", D1, 3, A, "champion", 16.0, 16.5),
            ("G1", D1, 1, B, "shadow", 17.0, 18.5), ("G1", D1, 2, B, "shadow", 6.0, 10.0),
            ("G1", D1, 3, B, "shadow", 12.0, 16.5),
            ("G2", D2, 1, A, "champion", 27.0, 24.5), ("G2", D2, 2, A, "champion", 13.0, 11.5),
            ("G2", D2, 3, A, "champion", 18.0, 12.5), ("G3", D2, 4, A, "champion", 21.0, 20.5),
            ("G2", D2, 1, B, "shadow", 23.0, 24.5), ("G2", D2, 2, B, "shadow", 9.0, 11.5),
            ("G2", D2, 3, B, "shadow", 9.0, 12.5), ("G3", D2, 4, B, "shadow", 16.0, 20.5),
        ]
    )  # fmt: skip
    engine = engine_of(registry)
    write(engine, games, preds)
    bet, close, late = (
        datetime(2026, 2, 28, 20, tzinfo=UTC),
        datetime(2026, 3, 1, 23, tzinfo=UTC),
        datetime(2026, 3, 2, 2, tzinfo=UTC),
    )
    day2 = timedelta(days=1)
    write_market(
        engine,
        [
            ("G1", D1, 1, bet, 18.5, -110, -110), ("G1", D1, 1, close, 19.0, -110, -110),
            ("G1", D1, 1, late, 30.0, -110, -110),  # after tip-off: not the closing line
            ("G1", D1, 2, bet, 10.0, -110, -110), ("G1", D1, 2, close, 10.0, -110, -110),
            ("G1", D1, 3, bet, 16.5, -110, -110), ("G1", D1, 3, close, 17.0, -110, -110),
            ("G2", D2, 1, bet + day2, 24.5, -110, -110), ("G2", D2, 1, close + day2, 25.5, -110, -110),
        ],
        [("G1", D1, datetime(2026, 3, 1, 23, 30, tzinfo=UTC))],  # G2's tip-off unknown: its last snapshot
    )  # fmt: skip
    registry_model(registry, A)
    registry.promote(A)
    registry_model(registry, B, alpha=0.43)
    return GradingStore(engine)


def _template(tmp_path_factory: pytest.TempPathFactory, build: Callable[[RegistryService], object]) -> Path:
    """A migrated registry filled by ``build``, made once per module (migrating takes a second)."""
    path = tmp_path_factory.mktemp("template") / "registry.duckdb"
    store = migrated_store(f"duckdb://{path}")
    build(RegistryService(store, actor="pytest"))
    return path


def _copy(template: Path, isolated_env: Path) -> RegistryService:
    """A private copy of a template at MODEL_REGISTRY_URL (so functions and the CLI see it too)."""
    target = isolated_env / "registry.duckdb"
    for suffix in ("", ".wal"):
        if Path(f"{template}{suffix}").exists():
            shutil.copyfile(f"{template}{suffix}", f"{target}{suffix}")
    return RegistryService(RegistryStore.open(f"duckdb://{target}"), actor="pytest")


@pytest.fixture(scope="module")
def hand_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _template(tmp_path_factory, hand_fixture)


@pytest.fixture
def hand(hand_template: Path, isolated_env: Path) -> RegistryService:
    return _copy(hand_template, isolated_env)


@pytest.fixture
def graded(hand: RegistryService) -> tuple[GradingStore, RegistryService]:
    store = GradingStore(engine_of(hand))
    grade_dates(store, load_catalog(hand.list), [D1, D2], NOW)
    return store, hand


def accuracy(store: GradingStore) -> pd.DataFrame:
    return store.engine.query_frame("SELECT * FROM prediction_accuracy ORDER BY game_date, system_id, player_id").drop(
        columns=["graded_at"]
    )


def daily(store: GradingStore) -> dict[tuple[date, str], dict]:
    rows = store.engine.query("SELECT * FROM model_performance_daily ORDER BY game_date, system_id")
    return {(r["game_date"], r["system_id"]): r for r in rows}


# -- grading against the hand-computed values ------------------------------------------------
def test_prediction_accuracy_rows_match_the_hand_grades(graded: tuple[GradingStore, RegistryService]) -> None:
    store, _ = graded
    rows = accuracy(store)
    got = [
        (r.game_date.date(), r.system_id, r.player_id, r.actual_points, r.absolute_error,
         r.predicted_points - r.actual_points, r.edge_bucket, bool(r.is_push),
         None if pd.isna(r.is_correct) else bool(r.is_correct))
        for r in rows.itertuples()
    ]  # fmt: skip
    assert got == [
        (D1, A, 1, 20, 2.0, 2.0, "3-5", False, True),
        (D1, A, 2, 10, 2.0, 2.0, "2-3", True, None),
        (D1, A, 3, 15, 1.0, 1.0, "<1", False, None),
        (D1, B, 1, 20, 3.0, -3.0, "1-2", False, False),
        (D1, B, 2, 10, 4.0, -4.0, "3-5", True, None),
        (D1, B, 3, 15, 3.0, -3.0, "3-5", False, True),
        (D2, A, 1, 30, 3.0, -3.0, "2-3", False, True),
        (D2, A, 3, 8, 10.0, 10.0, "5+", False, False),
        (D2, B, 1, 30, 7.0, -7.0, "1-2", False, False),
        (D2, B, 3, 8, 1.0, 1.0, "3-5", False, True),
    ]
    assert list(rows["recommendation"][:3]) == ["OVER", "OVER", "PASS"]
    assert rows["line"].tolist()[:3] == [18.5, 10.0, 16.5]


def test_daily_performance_matches_the_hand_figures(graded: tuple[GradingStore, RegistryService]) -> None:
    rows = daily(graded[0])
    expected = {  # n, mae, bias, bets, hits, hit rate, pushes, pass, e3 n, e3 hits, e3 rate, coverage, pending, void
        (D1, A): (3, 5 / 3, 5 / 3, 1, 1, 100.0, 1, 1, 1, 1, 100.0, None, 0, 0),
        (D1, B): (3, 10 / 3, -10 / 3, 2, 1, 50.0, 1, 0, 1, 1, 100.0, 0.0, 0, 0),
        (D2, A): (2, 6.5, 3.5, 2, 1, 50.0, 0, 0, 1, 0, 0.0, None, 1, 1),
        (D2, B): (2, 4.0, -3.0, 2, 1, 50.0, 0, 0, 1, 1, 100.0, 0.5, 1, 1),
    }
    columns = ("n", "mae", "bias", "n_bets", "n_hits", "hit_rate", "n_pushes", "n_pass", "n_edge_3plus",
               "n_hits_edge_3plus", "hit_rate_edge_3plus", "coverage", "n_pending", "n_void")  # fmt: skip
    assert set(rows) == set(expected)
    for key, values in expected.items():
        assert tuple(rows[key][c] for c in columns) == pytest.approx(values), key
    assert rows[(D1, B)]["quantile_alpha"] == 0.43 and rows[(D1, A)]["quantile_alpha"] is None
    assert rows[(D1, A)]["role"] == "champion" and not rows[(D1, A)]["in_sample"]
    w = 100 / 110
    value = {  # units, roi, n_clv, clv, pinball
        (D1, A): (w, w, 1, 0.5, None),
        (D1, B): (w - 1, (w - 1) / 2, 2, -0.5, 0.43 * 10 / 3),
        (D2, A): (w - 1, (w - 1) / 2, 1, 1.0, None),
        (D2, B): (w - 1, (w - 1) / 2, 1, -1.0, 1.79),
    }
    for key, values in value.items():
        assert tuple(rows[key][c] for c in ("units", "roi", "n_clv", "clv", "pinball")) == pytest.approx(values), key


def test_registry_gets_rolling_live_evaluation_without_a_version_bump(
    graded: tuple[GradingStore, RegistryService],
) -> None:
    store, registry = graded
    evaluation = store.read_evaluation([A, B])
    a, b = evaluation[A], evaluation[B]
    assert (a["eval_7d_n"], a["eval_7d_mae"], a["eval_7d_hit_rate"]) == (5, pytest.approx(3.6), pytest.approx(200 / 3))
    assert (a["eval_7d_hit_rate_edge_3plus"], a["eval_7d_n_edge_3plus"]) == (50.0, 2)
    assert (b["eval_30d_n"], b["eval_30d_mae"], b["eval_30d_hit_rate"]) == (5, pytest.approx(3.6), 50.0)
    assert (b["eval_30d_hit_rate_edge_3plus"], b["evaluation_n_edge_3plus"]) == (100.0, 2)
    assert a["evaluation_as_of"] == D2 and a["eval_14d_n"] == 5
    w = 100 / 110
    assert (a["eval_7d_units"], a["eval_7d_roi"], a["eval_7d_clv"]) == pytest.approx((2 * w - 1, (2 * w - 1) / 3, 0.75))
    assert (b["eval_30d_units"], b["eval_30d_roi"], b["eval_30d_clv"]) == pytest.approx(
        (2 * w - 2, (w - 1) / 2, -2 / 3)
    )
    # evaluation is not lifecycle state: a change prepared before a grading run still applies
    prepared = registry.get(B)
    assert prepared.row_version == 2  # registered (1) → enabled (2); grading left it alone
    grade_dates(store, load_catalog(registry.list), [D1, D2], NOW)
    after = replace(prepared, enabled=False, updated_at=registry.clock())
    store_of(registry).apply_changes([(prepared, after)], [hand_event("disabled", prepared, after, "test")])
    assert not registry.get(B).enabled and store.read_evaluation([B])[B]["eval_7d_n"] == 5


def test_regrading_replaces_rows_with_the_same_numbers(graded: tuple[GradingStore, RegistryService]) -> None:
    store, registry = graded
    before_rows, before_daily = accuracy(store), daily(store)
    grade_dates(store, load_catalog(registry.list), [D2], NOW)
    grade_dates(store, load_catalog(registry.list), [D1, D2], NOW)
    pd.testing.assert_frame_equal(accuracy(store), before_rows)
    assert daily(store) == before_daily
    assert store.read_evaluation([A])[A]["eval_7d_n"] == 5


def test_regrading_keeps_the_grades_of_a_model_without_predictions(
    graded: tuple[GradingStore, RegistryService],
) -> None:
    """Issue 11.1: grading replaces per (date, system_id) with predictions; a model whose predictions
    for the date are gone (never scored again) keeps its graded and daily rows."""
    store, registry = graded
    before_rows, before_daily = accuracy(store), daily(store)
    store.engine.run_atomic(
        [("DELETE FROM player_prop_predictions WHERE system_id = @b AND game_date = @d", {"b": B, "d": D2})]
    )
    grade_dates(store, load_catalog(registry.list), [D2], NOW)
    pd.testing.assert_frame_equal(accuracy(store), before_rows)
    assert daily(store) == before_daily


def test_games_without_results_are_counted_not_graded_as_zero(
    graded: tuple[GradingStore, RegistryService], caplog: pytest.LogCaptureFixture
) -> None:
    store, registry = graded
    rows = accuracy(store)
    assert 4 not in set(rows["player_id"]) and 2 not in set(rows[rows["game_date"].dt.date == D2]["player_id"])
    caplog.set_level("INFO")
    summary = grade_dates(store, load_catalog(registry.list), [D2], NOW)
    assert (summary.graded, summary.pending, summary.void) == (4, 2, 2)
    assert "2 awaiting results, 2 did not play" in caplog.text
    # the result arrives: a later message grades it
    write(store.engine, box_scores([("G2", D2, 1, 30, "played"), ("G2", D2, 2, 0, "dnp"),
                                    ("G2", D2, 3, 8, "played"), ("G3", D2, 4, 25, "played")]))  # fmt: skip
    summary = grade_dates(store, load_catalog(registry.list), [D2], NOW)
    assert (summary.graded, summary.pending) == (6, 0)
    assert daily(store)[(D2, A)]["mae"] == pytest.approx((3 + 10 + 4) / 3)


def test_days_within_training_are_graded_but_not_evaluated(hand: RegistryService) -> None:
    store = GradingStore(engine_of(hand))
    catalog = load_catalog(hand.list)
    models = tuple(replace(m, train_end=D1) if m.model_id == B else m for m in catalog.models)
    catalog = Catalog(models, catalog.source)
    grade_dates(store, catalog, [D1, D2], NOW)
    assert daily(store)[(D1, B)]["in_sample"] and not daily(store)[(D2, B)]["in_sample"]
    assert store.read_evaluation([B])[B]["eval_7d_n"] == 2  # day 2 only


def test_unreadable_registry_falls_back_to_the_builtin_list(hand: RegistryService) -> None:
    store = GradingStore(engine_of(hand))

    def broken() -> list:
        from common.errors import TransientError

        raise TransientError("registry is busy")

    catalog = load_catalog(broken)
    assert catalog.source == BUILTIN and catalog.models
    summary = grade_dates(store, catalog, [D1, D2], NOW)
    assert summary.graded == 10 and summary.evaluated == 0
    assert store.read_evaluation([A])[A]["eval_7d_n"] is None  # registry columns untouched


# -- comparisons -------------------------------------------------------------------------------
def pairs(n_per_day: int, days: int, shift: float, seed: int = 1, swing: float = 0.0) -> pd.DataFrame:
    """A paired sample where the challenger's absolute error is the champion's plus ``shift`` (+ noise,
    + a per-date effect of sd ``swing`` shared by the date's player-games)."""
    rng = np.random.default_rng(seed)
    n = n_per_day * days
    err_b = rng.uniform(0, 8, n)
    err_a = np.clip(err_b + shift + np.repeat(rng.normal(0, swing, days), n_per_day) + rng.normal(0, 1.0, n), 0, None)
    call = rng.choice([1, -1], n)
    return pd.DataFrame({
        "game_date": np.repeat(pd.date_range("2026-03-01", periods=days), n_per_day),
        "err_a": err_a, "err_b": err_b, "outcome_a": rng.integers(-1, 2, n), "outcome_b": rng.integers(-1, 2, n),
        "call_a": call, "call_b": np.where(rng.random(n) < 0.3, -call, call),
        "edge3_a": rng.random(n) < 0.3, "edge3_b": rng.random(n) < 0.3,
    })  # fmt: skip


@pytest.mark.parametrize(
    ("n_per_day", "days", "shift", "verdict", "reason"),
    [
        (80, 30, -0.8, PROMOTE, "MAE (the objective) drove it: better by more than the margin"),
        (80, 30, +0.8, RETIRE, "MAE drove it: the challenger is worse"),
        (80, 30, 0.0, KEEP_WATCHING, "MAE (the objective) is not better by its margin"),
        (300, 5, -0.8, KEEP_WATCHING, "insufficient evidence on MAE (the objective): 5 graded day(s) with it since "
         "2026-03-01; its confidence sequence excludes nothing before about 30 nights"),
    ],
)  # fmt: skip
def test_verdicts(n_per_day: int, days: int, shift: float, verdict: str, reason: str) -> None:
    result = compare_pairs(pairs(n_per_day, days, shift), B, A)
    assert result.verdict == verdict and reason in result.reason, result.reason
    assert result.sufficient is (verdict == PROMOTE)
    assert result.driver == (None if verdict == KEEP_WATCHING else "MAE")
    assert result.n_shared == n_per_day * days and result.graded_days == days == result.mae.days
    assert "objective mae: PROMOTE when the challenger's MAE is better by at least 0.05 points" in result.rule
    again = compare_pairs(pairs(n_per_day, days, shift), B, A)
    assert again == result  # no resampling: the same data gives the same verdict


def test_compare_figures_by_hand() -> None:
    frame = pd.DataFrame({
        "game_date": [D1, D1, D2, D2], "err_a": [1.0, 2.0, 3.0, 2.0], "err_b": [2.0, 2.0, 5.0, 1.0],
        "outcome_a": [1, 0, 1, -1], "outcome_b": [0, 1, 0, 1], "call_a": [1, 1, -1, 0], "call_b": [-1, -1, 1, 1],
        "edge3_a": [True, False, True, False], "edge3_b": [False, False, True, True],
    })  # fmt: skip
    c = compare_pairs(frame, B, A)
    assert (c.challenger.mae, c.champion.mae, c.mae_diff) == (2.0, 2.5, -0.5)
    assert (c.challenger.hit_rate, c.challenger.n_bets) == (pytest.approx(200 / 3), 3)
    assert (c.champion.hit_rate, c.champion.n_bets) == (50.0, 4)
    assert (c.challenger.hit_rate_edge_3plus, c.challenger.n_edge_3plus) == (100.0, 2)
    assert (c.champion.hit_rate_edge_3plus, c.champion.n_edge_3plus) == (50.0, 2)
    # units at -110: B (challenger) won 2 lost 1 → 2 * 100/110 - 1; A won 2 lost 2 → 2 * 100/110 - 2
    w = 100 / 110
    assert (c.challenger.units, c.champion.units) == (pytest.approx(2 * w - 1), pytest.approx(2 * w - 2))
    # ROI, one definition (compare.ROI_DEFINITION): the mean of daily units per bet over the dates both bet
    assert (c.challenger.roi, c.champion.roi) == (pytest.approx(((w - 1) / 2 + w) / 2), pytest.approx((w - 1) / 2))
    assert c.challenger.roi - c.champion.roi == pytest.approx(c.roi.estimate)  # never opposite signs
    assert (c.challenger.n_dates, c.challenger.roi_low < c.challenger.roi < c.challenger.roi_high) == (2, True)
    assert c.challenger.hit_rate_low < 200 / 3 < c.challenger.hit_rate_high  # Wilson, percent
    assert c.challenger.break_even is None  # the frame has no break-even column: unknown, never a guess
    assert c.challenger.clv is None and c.challenger.n_clv == 0  # no closing market: unknown, not zero
    # daily differences: D1 mean(-1, 0) = -0.5, D2 mean(-2, +1) = -0.5; ROI D1 (100/110 - 1)/2 - (100/110 - 1)/2 = 0,
    # D2 (100/110)/1 - (100/110 - 1)/2
    assert (c.mae.days, c.mae.estimate) == (2, pytest.approx(-0.5))
    assert (c.roi.days, c.roi.estimate) == (2, pytest.approx((100 / 110 - (100 / 110 - 1) / 2) / 2))
    assert c.verdict == KEEP_WATCHING and c.reason.startswith("insufficient evidence on MAE (the objective): 2 graded")
    assert (c.mae.low, c.mae.high, c.roi.low, c.roi.high) == (None, None, None, None)


def test_compare_on_graded_data_is_paired_and_out_of_sample(duck_registry: RegistryService) -> None:
    engine = engine_of(duck_registry)
    games, preds = synthetic(D1, 36, 20, {A: (4.0, "champion"), B: (2.0, "shadow")}, seed=3)
    preds = preds[~((preds["system_id"] == B) & (preds["player_id"] < 10))]  # B skips a game: not paired
    write(engine, games, preds)
    registry_model(duck_registry, A)
    duck_registry.promote(A)
    registry_model(duck_registry, B, train_end=D1)  # trained through day 1: only days 2-36 count
    store = GradingStore(engine)
    catalog = load_catalog(duck_registry.list)
    grade_dates(store, catalog, [D1 + timedelta(days=d) for d in range(36)], NOW)
    c = compare_models(store, catalog, B)
    assert (c.start, c.end, c.graded_days, c.n_shared) == (D2, date(2026, 4, 5), 35, 35 * 10)
    assert c.verdict == PROMOTE and c.driver is not None and "MAE" in c.driver and c.mae_diff < 0
    assert c.mae.high is not None and c.mae.high < -0.05  # beyond the margin
    last3 = compare_models(store, catalog, B, days=3)  # --days 3: a fixed window of 3 dates cannot decide
    assert (last3.start, last3.graded_days, last3.verdict, last3.window) == (date(2026, 4, 3), 3, KEEP_WATCHING, 3)
    assert "NOT when checked nightly" in last3.rule and not last3.sufficient


# -- the promotion guard through the CLI -------------------------------------------------------
def modelctl(*args: str) -> subprocess.CompletedProcess[str]:
    """``modelctl`` as a real process: kept where the exit code and the stdout/stderr split are what
    the test reads (a refused promotion, grading through the CLI, the text report)."""
    return subprocess.run([str(MODELCTL), *args], capture_output=True, text=True, timeout=120, env=dict(os.environ))


def test_promote_refuses_without_evidence_unless_forced_with_a_reason(
    graded: tuple[GradingStore, RegistryService],
) -> None:
    _, registry = graded  # two days, 5 shared player-games: not enough
    out = modelctl("promote", B)
    assert out.returncode == 4
    assert "evidence is insufficient" in out.stderr and "--force --reason" in out.stderr
    with pytest.raises(Conflict, match="pass --force --reason TEXT"):  # the rule lives in the service
        open_registry(Settings.from_env()).promote(B, reason=" ", force=True)  # forced, but no reason
    plot = Path(os.environ["MODEL_BUCKET_URL"].removeprefix("file://")).parent / "compare.png"
    out = modelctl_here("compare", B, "--json", "--plot", str(plot))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["verdict"] == KEEP_WATCHING
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    listed = json.loads(modelctl_here("performance", "--json").stdout)
    assert [(m["model_id"], m["figures"]["n"]) for m in listed["models"]] == [(A, 5), (B, 5)]
    out = modelctl_here("promote", B, "--force", "--reason", "q43 backtest is strong")
    assert out.returncode == 0, out.stderr
    assert "warning" in out.stderr.lower()
    event = registry.events(B)[-1]
    assert event.action == "promoted" and event.reason.startswith("forced past compare (keep watching: insufficient")
    assert event.reason.endswith("q43 backtest is strong")
    proof = registry.promotions(B)[-1]
    assert (proof.event_id, proof.forced, proof.verdict, proof.previous_champion) == (
        event.event_id,
        True,
        KEEP_WATCHING,
        A,
    )
    assert json.loads(proof.evidence_json or "")["n_shared"] == 5


# -- update_performance through functions-framework ------------------------------------------
D3 = date(2026, 3, 3)
WIN_DATES = [D1 + timedelta(days=d) for d in range(40)]  # a verdict needs 6+ blocks of 5 nights
WIN_PLAYERS = 12


def challenger_wins_fixture(registry: RegistryService) -> None:
    """40 days where the shadow B is clearly closer than the champion A (480 shared player-games)."""
    games, preds = synthetic(D1, len(WIN_DATES), WIN_PLAYERS, {A: (4.0, "champion"), B: (2.0, "shadow")}, seed=5)
    write(engine_of(registry), games, preds)
    registry_model(registry, A)
    registry.promote(A)
    registry_model(registry, B, alpha=0.43)


@pytest.fixture(scope="module")
def wins_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _template(tmp_path_factory, challenger_wins_fixture)


@pytest.fixture
def challenger_wins(wins_template: Path, isolated_env: Path) -> RegistryService:
    return _copy(wins_template, isolated_env)


def graded_wins_fixture(registry: RegistryService) -> None:
    """The 40 days graded (``test_update_performance_function_grades_and_advises_once`` checks that
    grading): the starting point of the tests that read the graded figures."""
    challenger_wins_fixture(registry)
    grade_dates(GradingStore(engine_of(registry)), load_catalog(registry.list), WIN_DATES, NOW)


@pytest.fixture(scope="module")
def graded_wins_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _template(tmp_path_factory, graded_wins_fixture)


@pytest.fixture
def graded_wins(graded_wins_template: Path, isolated_env: Path) -> RegistryService:
    return _copy(graded_wins_template, isolated_env)


def test_update_performance_function_grades_and_advises_once(
    challenger_wins: RegistryService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.events import post, pubsub_event
    from tests.test_functions import SlackStub, client

    slack = SlackStub()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
    try:
        app = client("update_performance")
        dates = {"game_dates": [str(d) for d in WIN_DATES]}
        assert post(app, pubsub_event("pubsub_graded_games.json", dates)).status_code == 200
        assert post(app, pubsub_event("pubsub_graded_games.json", dates), mode="structured").status_code == 200
    finally:
        slack.close()
    store = GradingStore(engine_of(challenger_wins))
    assert len(accuracy(store)) == 2 * len(WIN_DATES) * WIN_PLAYERS  # graded twice, stored once
    assert len(slack.posts) == 1  # promotion advice, once per challenger and end date
    text = slack.posts[0]["text"]
    assert f"{B} beats champion {A} over 40 graded days" in text and f"modelctl promote {B}" in text
    assert "Objective: mae. Verdict: PROMOTE, driven by MAE" in text and "confidence sequence [" in text
    assert "Rule: objective mae: PROMOTE when the challenger's MAE is better by at least 0.05 points" in text
    assert store.read_evaluation([B])[B]["eval_7d_n"] == 7 * WIN_PLAYERS
    assert challenger_wins.get(A).is_champion  # advice only: nothing is promoted automatically


def test_update_performance_function_with_the_fixture_event(challenger_wins: RegistryService, caplog) -> None:
    from tests.support.events import post, pubsub_event
    from tests.test_functions import client

    caplog.set_level("INFO")
    app = client("update_performance")
    assert post(app, pubsub_event("pubsub_graded_games.json")).status_code == 200  # {"game_date": "2026-03-01"}
    assert set(accuracy(GradingStore(engine_of(challenger_wins)))["game_date"].dt.date) == {D1}
    assert f"graded {2 * WIN_PLAYERS} predictions of 2 models on 2026-03-01" in caplog.text
    assert "no promotion advice" not in caplog.text
    assert f"{B} vs {A} on mae: keep watching (insufficient evidence on MAE (the objective): 1 graded" in caplog.text


def test_update_performance_bad_messages_are_acknowledged(challenger_wins: RegistryService, caplog) -> None:
    from tests.support.events import post, pubsub_event
    from tests.test_functions import client

    app = client("update_performance")
    assert post(app, pubsub_event("pubsub_graded_games.json", {"date": "2026-03-01"})).status_code == 200
    assert post(app, pubsub_event("pubsub_graded_games.json", raw_data="bm90IGpzb24=")).status_code == 200
    assert "names no date" in caplog.text and "data is not JSON" in caplog.text
    assert accuracy(GradingStore(engine_of(challenger_wins))).empty


def test_update_performance_waits_for_migrations(isolated_env: Path) -> None:
    from tests.support.events import post, pubsub_event
    from tests.test_functions import client

    response = post(client("update_performance"), pubsub_event("pubsub_graded_games.json"))
    assert response.status_code == 500  # ConfigError: redelivered until `modelctl migrate` has run


def test_compare_shows_verdict_driver_and_rule_and_promote_follows_it(
    graded_wins: RegistryService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")
    out = modelctl("compare", B)
    assert out.returncode == 0, out.stderr
    assert (
        "Objective: mae" in out.stdout
        and "Verdict: PROMOTE (driven by MAE) — MAE (the objective) drove it" in out.stdout
    )
    assert "Rule: objective mae: PROMOTE when the challenger's MAE is better by at least 0.05 points" in out.stdout
    assert "ROI (units/bet, mean of daily ROI)" in out.stdout and "CS [" in out.stdout
    monkeypatch.setenv("PROMOTION_MARGIN_MAE", "3")  # a margin no model here clears
    strict = json.loads(modelctl_here("compare", B, "--json").stdout)
    assert (strict["verdict"], strict["margins"]["margin_mae"], strict["driver"]) == (KEEP_WATCHING, 3.0, None)
    assert strict["mae"]["high"] < 0 and strict["roi"]["days"] == len(WIN_DATES) and strict["confidence"] == 0.95
    refused = modelctl_here("promote", B)
    assert refused.returncode == 4 and "better by at least 3 points" in refused.stderr
    monkeypatch.delenv("PROMOTION_MARGIN_MAE")
    assert modelctl_here("promote", B, "--reason", "compare: promote").returncode == 0  # no --force needed
    assert graded_wins.get(B).is_champion


def test_a_clv_family_is_judged_on_daily_no_vig_clv_and_told_where_metrics_disagree(
    graded_wins: RegistryService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B is closer (MAE) but the market moves against its bets: declared `clv`, it is not promoted."""
    engine = engine_of(graded_wins)
    rng = np.random.default_rng(21)
    update = "UPDATE model_performance_daily SET clv_prob = @v WHERE game_date = @d AND system_id = @m"
    for day in WIN_DATES:  # what money's grading writes (migration 017): mean no-vig CLV per bet
        for model, mean in ((A, 0.01), (B, -0.01)):
            engine.run_atomic([(update, {"v": float(rng.normal(mean, 0.004)), "d": day, "m": model})])
    family = graded_wins.get(B).model_family
    assert modelctl_here("objective", "set", family, "clv", "--reason", "we bet it").returncode == 0
    monkeypatch.setenv("COLUMNS", "1000")
    out = modelctl_here("compare", B)
    assert "Objective: clv" in out.stdout and "Verdict: RETIRE (driven by CLV) — CLV drove it" in out.stdout
    assert "Note: the metrics disagree: the challenger has better MAE" in out.stdout and "worse CLV" in out.stdout
    compared = json.loads(modelctl_here("compare", B, "--json").stdout)
    assert (compared["objective"], compared["clv"]["days"]) == ("clv", len(WIN_DATES))
    assert compared["clv"]["estimate"] == pytest.approx(-0.02, abs=0.003)
    refused = modelctl("promote", B)
    assert refused.returncode == 4 and "retire: CLV drove it" in refused.stderr and "objective clv" in refused.stderr
    assert "note: the metrics disagree" in refused.stderr


def test_units_roi_and_both_clvs_recomputed_by_hand_from_predictions_and_snapshots(
    challenger_wins: RegistryService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hand-recomputation test: a market with prices other than -110 (a few rows without a price,
    settled at BET_PRICE -120), pushes, snapshots after tip-off, player-games without a market; grade
    through the CLI, then settle every prediction again in plain Python (tests/support/settlement.py)."""
    engine = engine_of(challenger_wins)
    price_the_market(engine)
    monkeypatch.setenv("BET_PRICE", "-120")
    assert modelctl("grade", "--date", str(WIN_DATES[0]), "--to", str(WIN_DATES[-1]), "--no-advice").returncode == 0
    totals = assert_stored_as_by_hand(engine, -120.0)
    assert totals["n_pushes"] > 0 and 0 < totals["n_clv"] < totals["n_bets"], totals
    units = {key: fig["units"] for key, fig in settle_by_hand(engine, -120.0).items()}

    total = {m: sum(v for (d, s), v in units.items() if s == m) for m in (A, B)}
    last30 = {m: sum(v for (d, s), v in units.items() if s == m and d in WIN_DATES[-30:]) for m in (A, B)}
    live = json.loads(modelctl_here("performance", "--json").stdout)  # the last 30 days
    assert {m["model_id"]: m["figures"]["units"] for m in live["models"]} == pytest.approx(last30)
    registry_row = GradingStore(engine).read_evaluation([B])[B]
    assert registry_row["eval_30d_units"] == pytest.approx(last30[B])
    assert registry_row["eval_30d_roi_low"] < registry_row["eval_30d_roi"] < registry_row["eval_30d_roi_high"]
    assert registry_row["eval_30d_n_dates"] == min(30, len(WIN_DATES)) and registry_row["eval_7d_n_clv"] > 0
    for m in live["models"]:  # every figure with its interval
        f = m["figures"]
        assert f["roi_low"] < f["roi"] < f["roi_high"] and f["units_low"] < f["units"] < f["units_high"]
        assert f["hit_rate_low"] < f["hit_rate"] < f["hit_rate_high"] and f["n_dates"] == min(30, len(WIN_DATES))
        assert f["clv_low"] < f["clv"] < f["clv_high"] and f["clv_prob_low"] < f["clv_prob"] < f["clv_prob_high"]
        assert f["above_break_even"] is (f["hit_rate_low"] > f["break_even"])
    compared = json.loads(modelctl_here("compare", B, "--json").stdout)
    assert (compared["challenger"]["units"], compared["champion"]["units"]) == pytest.approx((total[B], total[A]))
    assert compared["margins"]["bet_price"] == -120 and compared["challenger"]["n_clv"] > 0
    assert compared["objective"] == "mae" and compared["clv"]["metric"] == "CLV"  # no-vig CLV: the daily clv_prob
    plot = Path(os.environ["MODEL_BUCKET_URL"].removeprefix("file://")).parent / "units.png"
    assert modelctl_here("compare", B, "--plot", str(plot)).returncode == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
