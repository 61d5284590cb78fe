"""The grading SQL, written once, on every engine: the hand fixture's figures on DuckDB and BigQuery."""

from __future__ import annotations

import pytest

from common.grading.analysis import compare_models
from common.grading.catalog import load_catalog
from common.grading.service import grade_dates
from common.registry.service import RegistryService
from tests.test_grading import D1, D2, NOW, A, B, hand_fixture


def test_hand_fixture_grades_the_same_on_every_engine(registry: RegistryService) -> None:
    store = hand_fixture(registry)
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
