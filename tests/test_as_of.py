"""The invariant of issue 20, on both engines: a prediction made as of a moment depends on nothing
captured after it. Changing or adding line snapshots after ``as_of`` changes no prediction, edge,
recommendation, line or price of a model that reads the line (V9 with its line features); a
snapshot at or before ``as_of`` does (so the test is not vacuous)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from common.app import open_registry, registration_service
from common.data.store import write_season
from common.data.synth import SeasonData, generate_season
from common.features import build_training_frame, to_model_input
from common.features.market import slate_as_of
from common.registry.modelfile import embed_card
from common.registry.store import RegistryStore
from common.settings import Settings
from common.sql import open_engine
from tests.support.cli import modelctl_here
from tests.support.migrated import migrated_store
from tests.support.tiny import tiny_card

MODELCTL = Path(sys.executable).with_name("modelctl")
COLUMNS = "game_id, game_date, player_id, captured_at, line, over_price, under_price"
DAY = date(2025, 11, 12)
ROW = ["game_id", "player_id", "predicted_points", "line", "edge", "recommendation", "over_price", "under_price",
       "line_captured_at", "as_of"]  # fmt: skip


@pytest.fixture(scope="module")
def early_season() -> SeasonData:
    """The first three weeks of a season (small enough for the emulator), validated like any other."""
    full = generate_season("2025-26", seed=3)
    keep = lambda f: f[pd.to_datetime(f["game_date"]).dt.date <= DAY].reset_index(drop=True)  # noqa: E731
    return replace(
        full,
        games=keep(full.games),
        player_games=keep(full.player_games),
        betting_lines=keep(full.betting_lines),
        betting_line_snapshots=keep(full.betting_line_snapshots),
    )


@pytest.fixture(scope="module")
def line_model(early_season: SeasonData) -> bytes:
    """A small V9 model fitted on the season before DAY, where the line is the strongest feature."""
    from catboost import CatBoostRegressor

    frame = build_training_frame(early_season, date(2025, 10, 21), date(2025, 11, 11))
    frame = frame[frame["has_vegas_line"] == 1.0]
    model = CatBoostRegressor(
        iterations=40, depth=4, loss_function="MAE", random_seed=0, verbose=0, allow_writing_files=False
    )
    model.fit(to_model_input(frame, "v9"), frame["actual_points"].to_numpy())
    importance = dict(zip(range(33), model.get_feature_importance(), strict=True))
    assert importance[28] > 10, "the model must read vegas_points_line (feature 28) for the test to mean anything"
    embed_card(model, tiny_card("v9"))
    with tempfile.TemporaryDirectory() as tmp:
        model.save_model(str(Path(tmp) / "m.cbm"))
        return (Path(tmp) / "m.cbm").read_bytes()


def _predict(url: str, *extra: str, process: bool = False) -> pd.DataFrame:
    """``modelctl predict`` for DAY (a real process with ``process``, else in this one), its rows."""
    args = ["predict", "--date", DAY.isoformat(), "--json", *extra]
    if process:
        env = {**os.environ, "MODEL_REGISTRY_URL": url}
        done = subprocess.run([str(MODELCTL), *args], capture_output=True, text=True, timeout=300, env=env)
    else:
        done = modelctl_here("--registry-url", url, *args)
    assert done.returncode == 0, done.stderr
    rows = open_engine(url).query_frame(
        f"SELECT {', '.join(ROW)} FROM player_prop_predictions WHERE game_date = @d", {"d": DAY}
    )
    rows["game_id"] = rows["game_id"].astype(str)
    for column in ("line_captured_at", "as_of"):
        rows[column] = pd.to_datetime(rows[column], utc=True)
    return rows.sort_values(["game_id", "player_id"]).reset_index(drop=True)


def _serve(url: str, season: SeasonData, model: bytes) -> None:
    """Migrate the registry at ``url`` (a no-op on the ``store`` fixture's copy), fill it, make the model champion."""
    migrated_store(url).close()
    write_season(open_engine(url), season, into_production=True)  # the emulator, a bigquery:// URL
    settings = Settings.from_env().with_overrides(registry_url=url)
    service = registration_service(settings)
    info = service.bucket.write("models/v9_lines.cbm", model)
    model_id = service.register_object(info.name).record.model_id
    service.registry.enable(model_id)
    open_registry(settings).promote(model_id)


@pytest.mark.slow
def test_snapshots_after_as_of_change_nothing_made_as_of_then(
    engine_url: str, store: RegistryStore, early_season: SeasonData, line_model: bytes
) -> None:
    _serve(engine_url, early_season, line_model)
    as_of = slate_as_of(early_season.games, DAY, Settings().predict_lead_minutes)
    before = _predict(engine_url, process=True)
    assert (before["as_of"] == as_of).all(), "the default moment is PREDICT_LEAD_MINUTES before the first tip-off"
    assert before["line"].notna().mean() > 0.5 and (before["line_captured_at"].dropna() <= as_of).all()
    assert before["line"].isna().equals(before["line_captured_at"].isna()) and before["line"].isna().any()
    assert (before.loc[before["line"].isna(), "recommendation"] == "PASS").all(), "no snapshot by then: PASS"

    engine = open_engine(engine_url)
    later = {"d": DAY, "t": as_of.to_pydatetime()}
    engine.run_atomic([
        ("UPDATE betting_line_snapshots SET line = line + 6, over_price = -130, under_price = 102 "
         "WHERE game_date = @d AND captured_at > @t", later),
        (f"INSERT INTO betting_line_snapshots ({COLUMNS}) "
         "SELECT game_id, game_date, player_id, TIMESTAMP_ADD(@t, INTERVAL 1 SECOND), MAX(line) + 9, 120, -140 "
         "FROM betting_line_snapshots WHERE game_date = @d AND captured_at <= @t "
         "GROUP BY game_id, game_date, player_id", later),
        (f"INSERT INTO betting_line_snapshots ({COLUMNS}) "
         "SELECT g.game_id, g.game_date, pg.player_id, TIMESTAMP_ADD(@t, INTERVAL 2 SECOND), 3.5, -110, -110 "
         "FROM games AS g JOIN player_games AS pg ON pg.game_id = g.game_id "
         "WHERE g.game_date = @d AND pg.game_date = @d", later),  # props first posted after the moment
    ])  # fmt: skip
    after = _predict(engine_url)
    pd.testing.assert_frame_equal(before, after)

    # Not vacuous: the same date seen as of its last tip-off reads the moved lines and predicts otherwise.
    close = _predict(engine_url, "--as-of", (as_of + pd.Timedelta(hours=9)).isoformat())
    assert (close["line"].fillna(0) != before["line"].fillna(0)).mean() > 0.5
    assert not np.allclose(close["predicted_points"], before["predicted_points"])


@pytest.mark.parametrize(
    "moment, message",
    [
        ("tomorrow-ish", "ISO timestamp"),
        ("9999-12-31T23:59:59-05:00", "as_of is out of range"),  # was a traceback (OverflowError)
        ("3000-01-01", "as_of is out of range"),  # was 'unexpected error: OutOfBoundsDatetime', exit 1
    ],
)
def test_as_of_is_refused_when_not_a_timestamp(moment: str, message: str) -> None:
    done = subprocess.run(
        [str(MODELCTL), "predict", "--date", DAY.isoformat(), "--as-of", moment],
        capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_json_reports_the_moment(tmp_path: Path, early_season: SeasonData, line_model: bytes) -> None:
    url = os.environ["MODEL_REGISTRY_URL"]
    _serve(url, early_season, line_model)
    done = subprocess.run(
        [str(MODELCTL), "predict", "--date", DAY.isoformat(), "--json", "--as-of", "2025-11-12T20:00:00Z"],
        capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip
    body: dict[str, Any] = json.loads(done.stdout)
    assert body["as_of"] == "2025-11-12T20:00:00+00:00"
    assert 0 < body["players_with_line"] <= body["players"]


def test_train_help_says_production_lines_are_the_lines_as_of_the_lead_time() -> None:
    """--use-production-lines grades at each row's snapshot as of PREDICT_LEAD_MINUTES before the first
    tip-off (the line production bets); its help said 'the closing lines actually offered'."""
    done = subprocess.run([str(MODELCTL), "train", "--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "300"})  # fmt: skip
    assert done.returncode == 0
    options = done.stdout.split("\n  --")  # one block per option
    [text] = [" ".join(o.split()) for o in options if o.startswith("use-production-lines")]
    assert "closing" not in text and "PREDICT_LEAD_MINUTES" in text, text
