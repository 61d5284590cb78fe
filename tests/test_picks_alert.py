"""Issue 14.3: the champion's picks alert after each scored slate, never a shadow's.

Through the `predict` HTTP function (functions-framework's own app) to a local Slack
stand-in: one alert per (date, champion sha256) however often the slate is scored. And the
alert's bytes are the same whether shadows serve beside the champion or not.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app

from common.alerts.picks import latest_alert
from common.app import open_registry, registration_service
from common.data.synth import generate_season
from common.settings import Settings
from common.sql import open_engine
from common.worker.worker import Worker
from tests.support.migrated import migrated_with_season
from tests.support.slack import Request, SlackStub
from tests.support.tiny import tiny_card, tiny_model_bytes

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 1, 15)
TOP_N = 4
SHADOWS = {"v12_noveg": (tiny_card("v12_noveg"), 2), "v9_q43": (tiny_card("v9", "Quantile", 0.43), 3)}


@pytest.fixture(scope="module")
def season() -> Any:
    return generate_season(seed=11)


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStub]:
    stub = SlackStub()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", stub.url)
    monkeypatch.setenv("PICKS_ALERT_TOP_N", str(TOP_N))
    yield stub
    stub.close()


def alerts(slack: SlackStub) -> list[Request]:
    """The picks alerts the stand-in accepted (registry notifications go to the same channel)."""
    return [r for r in slack.requests if r.answered == 200 and r.body["text"].startswith("Champion picks")]


def make_registry(settings: Settings, season: Any, shadows: tuple[str, ...]) -> str:
    """A migrated registry with the season, the same v9 champion bytes, and ``shadows`` enabled."""
    migrated_with_season(settings.registry_url, season)
    service = registration_service(settings)
    models = {"champion": (tiny_card("v9"), 1), **{name: SHADOWS[name] for name in shadows}}
    ids = {}
    for key, (card, seed) in models.items():
        info = service.bucket.write(f"models/{key}.cbm", tiny_model_bytes(card, seed=seed))
        ids[key] = service.register_object(info.name).record.model_id
        service.registry.enable(ids[key])
    open_registry(settings).promote(ids["champion"])
    return ids["champion"]


@pytest.fixture
def predict_app() -> Iterator[Any]:
    source = ROOT / "functions" / "predict" / "main.py"
    yield create_app("predict", str(source), "http").test_client()
    for module in [m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == str(source)]:
        if "worker" in module._state:
            module._state.pop("worker").stop()


def test_scoring_a_slate_posts_the_champions_top_picks_once(
    slack: SlackStub, predict_app: Any, season: Any, isolated_env: Path
) -> None:
    champion = make_registry(Settings.from_env(), season, tuple(SHADOWS))
    for _ in range(3):  # scored again and again: one alert
        response = predict_app.post("/", json={"game_date": DAY.isoformat()})
        assert response.status_code == 200, response.data
    [alert] = alerts(slack)
    text = alert.body["text"]
    recorded = latest_alert(Settings.from_env())  # what the demo prints when Slack is not configured
    assert recorded is not None and recorded.message()[0] == text
    lines = text.splitlines()
    assert lines[0] == f"Champion picks {DAY}: {TOP_N} by edge"
    assert lines[-1] == f"Champion `{champion}` · no graded record yet"
    picks = lines[1:-1]
    assert len(picks) == TOP_N and all(p.split()[0] in ("OVER", "UNDER") for p in picks)
    assert all(" player " not in p for p in picks)  # names from the players table, not ids
    edges = [abs(float(p.rsplit("edge ", 1)[1])) for p in picks]
    assert edges == sorted(edges, reverse=True)  # strongest first
    stored = open_engine(Settings.from_env().registry_url).query(
        "SELECT system_id, ABS(edge) AS strength FROM player_prop_predictions WHERE game_date = @d", {"d": DAY}
    )
    strongest = max(r["strength"] for r in stored if r["system_id"] == champion and r["strength"] is not None)
    assert strongest == pytest.approx(edges[0], abs=0.05)


def test_shadows_never_change_the_alert(slack: SlackStub, season: Any, tmp_path: Path) -> None:
    """The same champion with no, one and two shadows beside it: the same alert, byte for byte."""
    variants = [(), ("v12_noveg",), ("v12_noveg", "v9_q43")]
    for n, shadows in enumerate(variants):
        folder = tmp_path / f"with-{len(shadows)}-shadows"
        settings = Settings.from_env().with_overrides(
            registry_url=f"duckdb://{folder / 'registry.duckdb'}", bucket_url=f"file://{folder / 'bucket'}"
        )
        make_registry(settings, season, shadows)
        worker = Worker(settings, "pytest", folder / "cache")
        worker.reload()
        serving, rows = worker.predict_date(DAY)
        assert len(serving.models) == 1 + len(shadows) and rows["system_id"].nunique() == 1 + len(shadows)
        assert len(alerts(slack)) == n + 1
    first, *others = (r.raw for r in alerts(slack))
    assert json.loads(first)["text"].startswith(f"Champion picks {DAY}: {TOP_N} by edge")
    assert others == [first, first]


def test_the_record_is_the_30_day_roi_where_grading_has_one_else_the_hit_rate() -> None:
    from common.alerts.picks import _record

    assert _record({"eval_30d_roi": 0.042, "eval_30d_units": 8.9, "eval_30d_hit_rate": 55.1}) == (
        "30-day ROI +4.2% (+8.9 units)"
    )
    assert _record({"eval_30d_roi": None, "eval_30d_hit_rate": 55.1}) == "30-day hit rate 55.1%"
    assert _record({}) == "no graded record yet"
