"""``champion_predictions`` (migration 011): the champion's rows whatever its id, on every engine.

The query is the one docs/cutover.md shows legacy consumers, read from the page itself.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.sql import Param, Statement, qualify_view
from common.worker.predictions import PREDICTIONS_TABLE
from common.worker.queries import DELETE_PREDICTIONS
from common.worker.scoring import PREDICTION_COLUMNS
from tests.support.grading import registry_model
from tests.support.registry import engine_of

README = Path(__file__).resolve().parents[1] / "docs" / "cutover.md"
D1, D2 = date(2026, 2, 19), date(2026, 2, 20)
OLD, NEW = "catboost_v9_train1102_0215", "catboost_v9_train1201_0301"


def readme_query() -> str:
    """The README's "now" query (after `-- now`, up to the semicolon)."""
    match = re.search(r"-- now\n(.+?);", README.read_text(), re.DOTALL)
    assert match, "the README shows the champion_predictions query"
    return match.group(1)


def _rows(day: date, champion: str, shadow: str) -> pd.DataFrame:
    """What a worker writes for a two-player slate: each player once per model."""
    rows = [
        {
            "game_date": day,
            "game_id": f"G{day:%m%d}",
            "player_id": player,
            "system_id": model,
            "role": role,
            "predicted_points": 20.0 + player + (0.5 if role == "shadow" else 0.0),
            "line": 19.5,
            "edge": 0.5 + player,
            "recommendation": "OVER",
            "model_sha256": "0" * 64,
            "created_at": datetime(2026, 2, 19, 18, tzinfo=UTC),
        }
        for model, role in ((champion, "champion"), (shadow, "shadow"))
        for player in (1, 2)
    ]
    return pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS))


def replacing(day: date, *system_ids: str) -> Statement:
    """The worker's own replace-per-(date, system_id) statement."""
    return (DELETE_PREDICTIONS, {"game_date": day, "system_ids": Param(sorted(system_ids), "ARRAY")})


def test_champion_predictions_follows_the_champion_whatever_its_id(store: RegistryStore) -> None:
    engine = store.engine
    for day, champion, shadow in ((D1, OLD, NEW), (D2, NEW, OLD)):  # promoted between the two nights
        engine.write_frame(PREDICTIONS_TABLE, _rows(day, champion, shadow), replacing(day, champion, shadow))
    dataset = getattr(engine, "dataset", None)
    query = readme_query().replace("nba_predictions.", f"{dataset}." if dataset else "")
    for day, champion in ((D1, OLD), (D2, NEW)):
        rows = engine.query(query.replace("'2026-02-20'", f"'{day}'"))
        assert sorted((r["player_id"], r["champion_model_id"], r["predicted_points"]) for r in rows) == [
            (1, champion, 21.0),
            (2, champion, 22.0),
        ]
    every = engine.query("SELECT * FROM champion_predictions WHERE game_date >= '2026-02-19'")
    assert len(every) == 4 and set(every[0]) == set(PREDICTION_COLUMNS)


def test_migrating_twice_keeps_the_view(store: RegistryStore) -> None:
    assert store.migrate(datetime.now(UTC)) == []
    engine = store.engine
    engine.write_frame(PREDICTIONS_TABLE, _rows(D1, OLD, NEW), replacing(D1, OLD, NEW))
    assert {
        r["system_id"]
        for r in engine.query("SELECT system_id FROM champion_predictions WHERE game_date = '2026-02-19'")
    } == {OLD}


def test_bigquery_view_bodies_are_qualified_with_the_dataset() -> None:
    view = "CREATE OR REPLACE VIEW v AS SELECT a FROM t WHERE b = 'x'"
    qualified = qualify_view(view, "nba-props-platform", "nba_predictions")
    assert "`nba-props-platform`.nba_predictions.v" in qualified
    assert "FROM `nba-props-platform`.nba_predictions.t" in qualified
    table = "CREATE TABLE IF NOT EXISTS t (a INT64)"
    assert qualify_view(table, "p", "d") == table


def every_v9_challenger_query() -> str:
    """The README's "every V9 challenger" query (after its comment, up to the semicolon)."""
    match = re.search(r"-- every V9 challenger\n(.+?);", README.read_text(), re.DOTALL)
    assert match, "the README shows the model_predictions query"
    return match.group(1)


def test_every_v9_challenger_is_one_filter_on_model_predictions(registry: RegistryService) -> None:
    """The legacy LIKE 'catboost_v9_train%' misses today's ids; the README's model_predictions query
    finds exactly the V9 challengers (not the V9 champion, not another feature set), on every engine."""
    champion, q43, mae2 = ("catboost_v9_mae_train1102_0215", "catboost_v9_q43_train1102_0215",
                           "catboost_v9_mae_train1201_0301")  # fmt: skip
    other = "catboost_v12_noveg_mae_train1102_0215"
    for model_id in (champion, q43, mae2, other):
        registry_model(registry, model_id)
    registry.promote(champion)
    engine = engine_of(registry)
    rows = pd.concat([_rows(D2, champion, q43), _rows(D2, other, mae2).query("role == 'shadow'"),
                      _rows(D2, other, other).query("role == 'champion'").assign(role="shadow")])  # fmt: skip
    engine.write_frame(PREDICTIONS_TABLE, rows, replacing(D2, champion, q43, mae2, other))
    dataset = getattr(engine, "dataset", None)
    query = every_v9_challenger_query().replace("nba_predictions.", f"{dataset}." if dataset else "")
    got = {r["system_id"] for r in engine.query(query)}
    assert got == {q43, mae2}
    legacy = engine.query(
        f"SELECT DISTINCT system_id FROM {PREDICTIONS_TABLE} WHERE system_id LIKE 'catboost_v9_train%'"
    )
    assert legacy == []  # why the view exists
    families = engine.query("SELECT DISTINCT system_id, model_family FROM model_predictions WHERE game_date = @d",
                            {"d": D2})  # fmt: skip
    assert {(r["system_id"], r["model_family"]) for r in families} == {
        (champion, "v9_mae"),
        (q43, "v9_q43"),
        (mae2, "v9_mae"),
        (other, "v12_noveg_mae"),
    }
