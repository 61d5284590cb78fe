"""The worker's two front doors: the `predict` HTTP function (functions-framework's own app)
and `modelctl predict` / `modelctl workers`, against a registry holding a season."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app

from common.cli.main import main
from common.data.synth import generate_season
from common.errors import ConfigError
from common.features import slate_targets
from common.settings import Settings
from common.sql import open_engine
from common.storage import FileBucket, open_bucket
from tests.support.serving import serving_registry
from tests.support.tiny import tiny_card

ROOT = Path(__file__).resolve().parent.parent
MODELCTL = Path(sys.executable).with_name("modelctl")
DAY = date(2026, 1, 15)


@pytest.fixture(scope="module")
def season() -> Any:
    return generate_season(seed=11)


@pytest.fixture
def registry(isolated_env: Path, season: Any) -> dict[str, str]:
    """A migrated registry with the season's tables, a v9 champion and a v12_noveg shadow."""
    models = {"champion": (tiny_card("v9"), 1), "shadow": (tiny_card("v12_noveg"), 2)}
    return serving_registry(Settings.from_env(), season, models)


@pytest.fixture
def predict_app() -> Iterator[Any]:
    source = ROOT / "functions" / "predict" / "main.py"
    yield create_app("predict", str(source), "http").test_client()
    loaded = [m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == str(source)]
    assert loaded, "functions-framework loaded functions/predict/main.py under another path"
    for module in loaded:  # stop the worker's manifest poller
        if "worker" in module._state:
            module._state.pop("worker").stop()


def stored(settings: Settings) -> dict[str, int]:
    rows = open_engine(settings.registry_url).query(
        "SELECT system_id, role, COUNT(*) AS n FROM player_prop_predictions WHERE game_date = @d GROUP BY 1, 2",
        {"d": DAY},
    )
    return {f"{r['role']}:{r['system_id']}": r["n"] for r in rows}


def test_http_predict_scores_every_model_stores_rows_once_and_reports(
    registry: dict[str, str], predict_app: Any, season: Any
) -> None:
    settings = Settings.from_env()
    players = len(slate_targets(season, DAY))
    status = predict_app.get("/status")
    assert status.status_code == 200
    assert status.json["champion"] == registry["champion"]
    assert set(status.json["models"]) == set(registry.values())
    for _ in range(2):  # a re-run replaces the date's rows, never duplicates them
        response = predict_app.post("/", json={"game_date": DAY.isoformat()})
        assert response.status_code == 200, response.data
        body = response.json
        assert body["rows"] == 2 * players and body["champion"] == registry["champion"]
        assert {s["system_id"]: s["n"] for s in body["signals"]} == dict.fromkeys(registry.values(), players)
        assert 0 < body["picks"] <= players
        assert stored(settings) == {
            f"champion:{registry['champion']}": players,
            f"shadow:{registry['shadow']}": players,
        }
    assert body["as_of"] == "2026-01-15T21:00:00+00:00"  # PREDICT_LEAD_MINUTES before the first tip-off
    moment = predict_app.post("/", json={"game_date": DAY.isoformat(), "as_of": "2026-01-15T13:00:00-05:00"})
    assert moment.status_code == 200 and moment.json["as_of"] == "2026-01-15T18:00:00+00:00"
    acks = open_engine(settings.registry_url).query("SELECT worker_id, models_json, champion FROM worker_acks")
    assert len(acks) == 1 and acks[0]["champion"] == registry["champion"]
    assert set(json.loads(acks[0]["models_json"])) == set(registry.values())


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"game_date": "tomorrow"}, 400, "POST a JSON body like"),
        ({}, 400, "POST a JSON body like"),
        ({"game_date": "2026-08-01"}, 404, "no games on 2026-08-01"),
        (["2026-02-20"], 400, "POST a JSON body like"),  # was an AttributeError: 500, redelivered
        ("2026-02-20", 400, "POST a JSON body like"),
        ({"game_date": "9999-12-31"}, 400, "date 9999-12-31 is out of range"),  # was "expected a date, got …"
        ({"game_date": "2026-01-15", "as_of": "after lunch"}, 400, "as_of must be an ISO timestamp"),
        ({"game_date": "2026-02-30"}, 400, "game_date '2026-02-30' is not a calendar day"),  # was "POST … like"
        ({"game_date": 20260220}, 400, "POST a JSON body like"),  # a number was read as 2026-02-20
        ({"game_date": "2026-01-15", "as_of": "9999-12-31T23:59:59-05:00"}, 400, "as_of is out of range"),
        ({"game_date": "2026-01-15", "as_of": "3000-01-01T00:00:00Z"}, 400, "as_of is out of range"),
        ({"game_date": "2026-01-15", "as_of": 20260115}, 400, "as_of must be an ISO timestamp string"),
        ({"game_date": "2026-01-15", "as_of": ["2026-01-15T21:00:00Z"]}, 400, "as_of must be an ISO timestamp string"),
    ],
    ids=[
        "not a date",
        "no date",
        "no games that day",
        "a JSON array",
        "a JSON string",
        "a date out of range",
        "as_of not a moment",
        "no such day",
        "a number",
        "as_of past the calendar",  # was an OverflowError: 500, redelivered
        "as_of past what a timestamp holds",  # was pandas' OutOfBoundsDatetime: 500
        "as_of a number",  # was read as the basic ISO date 2026-01-15
        "as_of a list",
    ],  # fmt: skip
)
def test_http_predict_refuses_bad_requests_and_stores_nothing(
    registry: dict[str, str], predict_app: Any, body: Any, status: int, message: str
) -> None:
    response = predict_app.post("/", json=body)
    assert response.status_code == status and message in response.json["error"]
    assert stored(Settings.from_env()) == {}


def test_http_predict_refuses_a_body_nested_too_deeply_for_the_parser(
    registry: dict[str, str], predict_app: Any
) -> None:
    """200,000 nested arrays: the JSON parser's RecursionError was a 500 (and a retry)."""
    depth = 200_000
    for body in ("[" * depth + "]" * depth, '{"game_date": ' + "[" * depth + "]" * depth + "}"):
        response = predict_app.post("/", data=body, content_type="application/json")
        assert response.status_code == 400 and "POST a JSON body like" in response.json["error"]
    assert predict_app.get("/status").status_code == 200
    head = predict_app.head("/status")  # HEAD is GET without the body (a health check): it was 400
    assert head.status_code == 200 and head.data == b""
    assert stored(Settings.from_env()) == {}


def modelctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MODELCTL), *args], capture_output=True, text=True, timeout=120, env=dict(os.environ))


MODULES_AFTER = """
import json, sys
from common.cli.main import main
code = main(sys.argv[1:])
print(json.dumps(sorted(sys.modules)))
sys.exit(code)
"""


def predicted(settings: Settings) -> list[dict[str, Any]]:
    return open_engine(settings.registry_url).query(
        "SELECT system_id, player_id, predicted_points, line, recommendation FROM player_prop_predictions"
        " WHERE game_date = @d ORDER BY system_id, player_id",
        {"d": DAY},
    )


def test_modelctl_predict_and_workers(
    registry: dict[str, str], season: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    players = len(slate_targets(season, DAY))
    monkeypatch.setenv("SQL_CACHE_DIR", str(tmp_path / "own-sql-cache"))  # not the run's shared one
    out = modelctl("predict", "--date", DAY.isoformat(), "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["rows"] == 2 * players and summary["source"] == "manifest"
    assert summary["champion"] == registry["champion"]
    first = predicted(Settings.from_env())
    assert list(Path(os.environ["SQL_CACHE_DIR"]).glob("*.sql"))  # the DuckDB SQL kept for the next process
    table = subprocess.run(  # the next process: its SQL from that cache, no Slack URL
        [sys.executable, "-c", MODULES_AFTER, "predict", "--date", DAY.isoformat(), "--top", "3"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert table.returncode == 0 and "User-facing picks (champion only, top 3" in table.stdout, table.stderr
    modules = set(json.loads(table.stdout.strip().splitlines()[-1]))
    assert {"sqlglot", "slack_sdk"} & modules == set()  # neither needed: 0.25-0.4 s of a cold predict
    assert predicted(Settings.from_env()) == first  # the same rows, from the same SQL
    workers = modelctl("workers", "--json")
    assert workers.returncode == 0, workers.stderr
    [ack] = json.loads(workers.stdout)
    assert ack["worker_id"] == "modelctl-predict" and ack["champion"] == registry["champion"]
    bad = modelctl("predict", "--date", "15/01/2026")
    assert bad.returncode == 2 and "is not a date (YYYY-MM-DD)" in bad.stderr


def counts(table: str) -> dict[str, int]:
    """Rows per system_id on DAY in ``table``."""
    rows = open_engine(Settings.from_env().registry_url).query(
        f"SELECT system_id, COUNT(*) AS n FROM {table} WHERE game_date = @d GROUP BY 1", {"d": DAY}
    )
    return {r["system_id"]: r["n"] for r in rows}


def error_line(stderr: str) -> str:
    """The CLI's one error line; every other stderr line is a JSON log record (no traceback)."""
    *logs, line = stderr.strip().splitlines()
    assert line.startswith("modelctl predict: error: ") and all(json.loads(x)["severity"] for x in logs)
    return line


HISTORY = ("player_prop_predictions", "prediction_accuracy", "model_performance_daily")


def corrupt(name: str) -> None:
    """Overwrite a model's object in the bucket with random bytes and forget every cached copy."""
    settings = Settings.from_env()
    FileBucket(settings.bucket_url).path(name).write_bytes(os.urandom(4096))
    shutil.rmtree(settings.model_cache_dir, ignore_errors=True)


def test_an_unreadable_champion_keeps_its_history_and_scoring_fails_loudly(registry: dict[str, str]) -> None:
    """Issue 11.1: predict, grade, corrupt the champion, predict and grade again: nothing is lost."""
    assert modelctl("predict", "--date", DAY.isoformat()).returncode == 0
    assert main(["grade", "--date", DAY.isoformat(), "--no-advice"]) == 0  # in-process: grading is not under test
    before = {table: counts(table) for table in HISTORY}
    assert all(set(before[t]) == set(registry.values()) for t in HISTORY), before
    corrupt("models/champion.cbm")
    out = modelctl("predict", "--date", DAY.isoformat())
    assert out.returncode == 6, out.stdout + out.stderr
    line = error_line(out.stderr)
    assert "no champion loaded, nothing scored or stored" in line and registry["champion"] in line
    workers = modelctl("workers", "--json")
    [ack] = json.loads(workers.stdout)
    assert ack["champion"] is None and f"champion {registry['champion']} could not be loaded" in ack["problem"]
    assert registry["champion"] in modelctl("workers").stdout.replace("\n", "")
    assert main(["grade", "--date", DAY.isoformat(), "--no-advice"]) == 0
    assert {table: counts(table) for table in HISTORY} == before


def test_a_run_replaces_only_the_models_it_scored(registry: dict[str, str], season: Any) -> None:
    players = len(slate_targets(season, DAY))
    assert modelctl("predict", "--date", DAY.isoformat()).returncode == 0
    corrupt("models/shadow.cbm")
    out = modelctl("predict", "--date", DAY.isoformat(), "--json")
    assert out.returncode == 0, out.stderr
    assert [s["system_id"] for s in json.loads(out.stdout)["signals"]] == [registry["champion"]]
    assert counts("player_prop_predictions") == dict.fromkeys(registry.values(), players)  # the shadow's rows stay


def test_without_credentials_the_builtin_model_is_skipped_by_name_and_status_answers(
    predict_app: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 11.7: registry, manifest and cache unavailable, the built-in list's gs:// model cannot be
    fetched without credentials: no traceback, GET /status answers, POST answers 503, the CLI exits 6."""
    with socket.socket() as s:  # a port nobody listens on: no metadata server
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    env = {
        "MODEL_REGISTRY_URL": "bigquery://no-credentials-project/nba_predictions",
        "MODEL_BUCKET_URL": "gs://no-credentials-models",
        "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "no-such-credentials.json"),
        "GCE_METADATA_HOST": f"127.0.0.1:{closed}",
        "GCE_METADATA_IP": f"127.0.0.1:{closed}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    builtin = "catboost_v9_train1102_0215"
    status = predict_app.get("/status")
    assert status.status_code == 200, status.data
    assert status.json["source"] == "built-in" and status.json["champion"] is None
    assert builtin in status.json["skipped"] and "Google credentials" in status.json["skipped"][builtin]
    assert f"champion {builtin} could not be loaded" in status.json["problem"]
    response = predict_app.post("/", json={"game_date": DAY.isoformat()})
    assert response.status_code == 503 and "no champion loaded" in response.json["error"]
    with pytest.raises(ConfigError, match="no usable Google credentials"):
        open_bucket("gs://no-credentials-models").list()
    with pytest.raises(ConfigError, match="no Google credentials for BigQuery"):
        open_engine("bigquery://no-credentials-project/nba_predictions").query("SELECT 1")
    out = modelctl("predict", "--date", DAY.isoformat())
    assert out.returncode == 6 and "Traceback" not in out.stderr
    line = error_line(out.stderr)
    assert builtin in line and "Google credentials" in line


def test_predict_without_season_data_says_what_to_run(registry: dict[str, str]) -> None:
    """Issue 11.9: one line naming the command, not a DuckDB catalog error."""
    engine = open_engine(Settings.from_env().registry_url)
    engine.run_atomic([("DELETE FROM player_games WHERE TRUE", {}), ("DELETE FROM games WHERE TRUE", {})])
    empty = modelctl("predict", "--date", DAY.isoformat())
    assert empty.returncode == 3, empty.stderr
    assert error_line(empty.stderr).endswith("run `modelctl data generate --season 2025-26 --seed 7`")
    engine.run_atomic([(f"DROP TABLE {table}", {}) for table in ("betting_lines", "player_games", "games")])
    missing = modelctl("predict", "--date", DAY.isoformat())
    assert missing.returncode == 5, missing.stderr
    line = error_line(missing.stderr)
    assert "no season tables" in line and "run `modelctl migrate`, then `modelctl data generate" in line
    assert "Catalog Error" not in line
