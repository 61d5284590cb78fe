"""One engine connection per command or request on the embedded engine: counted on the real
DuckDB client, for ``modelctl predict`` (was 13) and a registration (was 7 per model)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from common.app import registration_service
from common.cli.main import main
from common.data.synth import generate_season
from common.errors import AppError
from common.settings import Settings
from common.sql import engine_session, open_engine
from common.worker.acks import AckStore
from tests.support.serving import serving_registry
from tests.support.tiny import tiny_card, tiny_model_bytes


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many DuckDB connections the process opened since the fixture started."""
    count = [0]
    real = duckdb.connect

    def connect(*args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", connect)
    return lambda: count[0]


def test_modelctl_predict_opens_one_connection_and_still_acknowledges(
    isolated_env: Path, opened: Callable[[], int], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.from_env()
    ids = serving_registry(settings, generate_season(seed=11), {"champion": (tiny_card("v9"), 1)})
    before = opened()
    assert main(["predict", "--date", date(2026, 1, 15).isoformat(), "--json"]) == 0
    assert opened() - before == 1
    assert json.loads(capsys.readouterr().out)["champion"] == ids["champion"]
    [ack] = AckStore.open(settings.registry_url).list()  # written after the answer, in the same session
    assert ack.worker_id == "modelctl-predict" and ack.champion == ids["champion"]


def test_a_registration_opens_one_connection(
    isolated_env: Path, opened: Callable[[], int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    settings = Settings.from_env()
    service = registration_service(settings)
    for seed in range(3):
        path = tmp_path / f"m{seed}.cbm"
        path.write_bytes(tiny_model_bytes(tiny_card("v9", train_start=date(2025, 11, 1 + seed)), seed=seed))
        before = opened()
        assert service.register_file(path).outcome == "registered"
        assert opened() - before == 1
    path = tmp_path / "cli.cbm"
    path.write_bytes(tiny_model_bytes(tiny_card("v12"), seed=9))
    capsys.readouterr()
    before = opened()
    assert main(["register", str(path), "--enable", "--json"]) == 0
    assert opened() - before == 1
    assert json.loads(capsys.readouterr().out)["model"]["enabled"] is True


def test_a_session_shares_one_connection_and_rolls_back_a_failed_write(
    isolated_env: Path, opened: Callable[[], int]
) -> None:
    assert main(["migrate"]) == 0
    url = Settings.from_env().registry_url
    before = opened()
    with engine_session(url):
        engine = open_engine(url)
        engine.run_atomic([("CREATE TABLE t (x INT64)", {})])
        with pytest.raises(AppError):
            engine.run_atomic([("INSERT INTO t (x) VALUES (1)", {}), ("INSERT INTO nowhere (x) VALUES (2)", {})])
        assert open_engine(url).query("SELECT COUNT(*) AS n FROM t") == [{"n": 0}]
    assert opened() - before == 1
    assert open_engine(url).query("SELECT COUNT(*) AS n FROM t") == [{"n": 0}]  # a new connection after it
    assert opened() - before == 2


def test_a_short_registry_command_opens_one_connection(
    isolated_env: Path, opened: Callable[[], int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every command of ``ONE_CONNECTION``: ``migrate`` (each migration still its own transaction),
    ``enable`` with the registry-change event it handles in-process, ``history``, ``grade``."""
    before = opened()
    assert main(["migrate"]) == 0
    assert opened() - before == 1
    path = tmp_path / "m.cbm"
    path.write_bytes(tiny_model_bytes(tiny_card("v9"), seed=5))
    capsys.readouterr()
    assert main(["register", str(path), "--json"]) == 0
    model_id = json.loads(capsys.readouterr().out)["model"]["model_id"]
    for argv in (["enable", model_id], ["history", model_id], ["grade", "--date", "2026-01-15", "--no-advice"]):
        before = opened()
        assert main(argv) == 0, capsys.readouterr().err
        assert opened() - before == 1, argv
