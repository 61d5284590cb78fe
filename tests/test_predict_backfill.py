"""``modelctl predict --from D1 --to D2``: a range of dates scored in one process (one worker,
one engine session, fused scoring), each date as of its own moment, dates without games skipped
and said so. Each date's stored rows are those ``modelctl predict --date`` stores for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from common.data.synth import generate_season
from common.features import slate_targets
from common.settings import Settings
from common.sql import open_engine
from tests.support.serving import serving_registry
from tests.support.tiny import tiny_card

MODELCTL = Path(sys.executable).with_name("modelctl")
FIRST, NO_GAMES, LAST = date(2025, 12, 23), date(2025, 12, 24), date(2025, 12, 25)  # Christmas Eve: no games


@pytest.fixture(scope="module")
def season() -> Any:
    return generate_season(seed=11)


@pytest.fixture
def registry(isolated_env: Path, season: Any) -> dict[str, str]:
    """A v9 champion and two shadows (v12_noveg, v9 quantile) over the season."""
    models = {
        "champion": (tiny_card("v9"), 1),
        "shadow": (tiny_card("v12_noveg"), 2),
        "quantile": (tiny_card("v9", "Quantile", 0.43), 3),
    }
    return serving_registry(Settings.from_env(), season, models)


def modelctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MODELCTL), *args], capture_output=True, text=True, timeout=180, env=dict(os.environ))


def rows_of(day: date) -> pd.DataFrame:
    found = open_engine(Settings.from_env().registry_url).query(
        "SELECT system_id, player_id, game_id, predicted_points, line, as_of FROM player_prop_predictions "
        "WHERE game_date = @d ORDER BY system_id, game_id, player_id",
        {"d": day},
    )
    return pd.DataFrame(found)


def test_a_range_is_scored_in_one_process_each_date_as_predict_date_scores_it(
    registry: dict[str, str], season: Any
) -> None:
    assert slate_targets(season, NO_GAMES).empty and not slate_targets(season, FIRST).empty
    out = modelctl("predict", "--from", FIRST.isoformat(), "--to", LAST.isoformat())
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert f"{NO_GAMES}: no games, skipped" in lines
    for day in (FIRST, LAST):
        players = len(slate_targets(season, day))
        assert any(x.startswith(f"{day}: {3 * players} prediction rows as of ") for x in lines), out.stdout
    assert f"{FIRST} to {LAST}: 2 dates scored, 1 without games skipped" in out.stdout
    assert rows_of(NO_GAMES).empty
    backfilled = {day: rows_of(day) for day in (FIRST, LAST)}
    acks = json.loads(modelctl("workers", "--json").stdout)
    assert [a["champion"] for a in acks if a["worker_id"] == "modelctl-backfill"] == [registry["champion"]]

    for day, before in backfilled.items():  # the one-date path (unfused, its own as-of) stores the same rows
        assert set(before["system_id"]) == set(registry.values())
        assert modelctl("predict", "--date", day.isoformat()).returncode == 0
        after = rows_of(day)
        assert len(after) == len(before) and (after["as_of"] == before["as_of"]).all()
        assert after[["system_id", "player_id", "game_id"]].equals(before[["system_id", "player_id", "game_id"]])
        np.testing.assert_allclose(after["predicted_points"], before["predicted_points"], rtol=0, atol=1e-9)
        np.testing.assert_array_equal(after["line"].to_numpy(float), before["line"].to_numpy(float))


def test_a_range_in_json_names_every_date_and_what_was_skipped(registry: dict[str, str], season: Any) -> None:
    out = modelctl("predict", "--from", NO_GAMES.isoformat(), "--to", LAST.isoformat(), "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["champion"] == registry["champion"] and body["models"] == 3
    skipped, scored = body["dates"]
    assert skipped == {"game_date": NO_GAMES.isoformat(), "rows": 0, "players": 0, "players_with_line": 0,
                       "as_of": None, "skipped": "no games"}  # fmt: skip
    players = len(slate_targets(season, LAST))
    assert scored["game_date"] == LAST.isoformat() and scored["skipped"] is None
    assert scored["rows"] == 3 * players and scored["players"] == players
    assert scored["as_of"].startswith(LAST.isoformat())  # its own moment: before its first tip-off
    assert len(rows_of(LAST)) == 3 * players


def test_a_backfill_killed_mid_range_keeps_every_finished_date_and_no_partial_one(
    registry: dict[str, str], season: Any
) -> None:
    """kill -9 while a range is being scored: each date's rows are one transaction, so every date
    is whole or absent; those reported are stored; a re-run of the range completes it."""
    first, last = date(2025, 11, 1), date(2025, 12, 20)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [str(MODELCTL), "predict", "--from", first.isoformat(), "--to", last.isoformat()],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    reported = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "prediction rows" in line:
                reported.append(date.fromisoformat(line.split(":")[0]))
            if len(reported) == 2:
                proc.kill()  # SIGKILL: no cleanup of any kind
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -9 and len(reported) == 2
    engine = open_engine(Settings.from_env().registry_url)
    counts = {
        r["game_date"]: r["n"]
        for r in engine.query("SELECT game_date, COUNT(*) AS n FROM player_prop_predictions GROUP BY 1")
    }
    for day in (first + timedelta(days=i) for i in range((last - first).days + 1)):
        full = 3 * len(slate_targets(season, day))
        assert counts.get(day, 0) in (0, full), f"{day}: {counts.get(day)} of {full} rows"
        if day in reported:
            assert counts.get(day) == full
    assert max(counts) < last  # it was stopped before the end
    rest = (reported[-1].isoformat(), (max(counts) + timedelta(days=2)).isoformat())
    again = modelctl("predict", "--from", rest[0], "--to", rest[1])
    assert again.returncode == 0, again.stderr
    for day in (reported[-1] + timedelta(days=i) for i in range(3)):
        assert len(rows_of(day)) == 3 * len(slate_targets(season, day))
