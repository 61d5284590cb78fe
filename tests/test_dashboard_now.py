"""The home page's now-strip and verdicts through functions-framework's app, on a small graded DuckDB
registry: every challenger's verdict in two queries equal to ``modelctl compare``, the last slate on
the league's clock, silent workers, no verdict for a stopped model (review of issue 24)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from common.cli.main import main as modelctl
from common.dashboard import web
from common.grading.catalog import load_catalog
from common.grading.service import grade_dates
from common.grading.store import GradingStore
from common.registry.service import RegistryService
from common.settings import Settings
from common.worker.acks import AckStore, WorkerAck
from tests.support.grading import registry_model, synthetic, write
from tests.support.registry import engine_of
from tests.test_dashboard import client_for, count_queries, stated_queries, text
from tests.test_grading import _copy, _template

CHAMPION = "catboost_v9_mae_train1102_0215"
# three challengers whose training ends differ, so each one's shared days start elsewhere
TRAIN_ENDS = {"catboost_v9_q43_train1102_0301": date(2026, 3, 1), "catboost_v12_mae_train1102_0305": date(2026, 3, 5),
              "catboost_v12_noveg_mae_train1102_0215": date(2026, 2, 15)}  # fmt: skip
FIRST, DAYS = date(2026, 3, 1), 20
LAST = FIRST + timedelta(days=DAYS - 1)  # 2026-03-20: predicted, not graded yet
EVENING = datetime(2026, 3, 21, 3, 0, tzinfo=UTC)  # 23:00 in New York on 2026-03-20: that slate is today's


def _build(registry: RegistryService) -> None:
    shadows = zip(TRAIN_ENDS, (2.0, 4.5, 3.5), strict=True)
    noise = {CHAMPION: (4.0, "champion"), **{m: (s, "shadow") for m, s in shadows}}
    games, preds = synthetic(FIRST, DAYS, 20, noise, seed=7)
    engine = engine_of(registry)
    write(engine, games, preds)
    slates = pd.DataFrame({"game_id": ["S19", "S20"], "game_date": [LAST - timedelta(days=1), LAST],
                           "season": "2025-26", "home_team_id": "AAA", "away_team_id": "BBB"})  # fmt: skip
    engine.write_frame("games", slates, ("DELETE FROM games WHERE game_id IN UNNEST(@ids)", {"ids": ["S19", "S20"]}))
    registry_model(registry, CHAMPION)
    registry.promote(CHAMPION)
    for model_id, end in TRAIN_ENDS.items():
        registry_model(registry, model_id, train_end=end, alpha=0.43 if "q43" in model_id else None)
    store = GradingStore(engine)
    grade_dates(store, load_catalog(registry.list), [FIRST + timedelta(days=d) for d in range(DAYS - 1)], EVENING)


@pytest.fixture(scope="module")
def graded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _template(tmp_path_factory, _build)  # built once; each test gets its own copy


@pytest.fixture
def graded(graded_template: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> RegistryService:
    monkeypatch.setenv("REGISTRY_CHECK_SECONDS", "60")  # silent after 3 checks: 180 s (+ a poll)
    return _copy(graded_template, isolated_env)


def _at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(web, "_clock", lambda: moment)


def _chips(page: str) -> dict[str, str]:
    found = re.findall(r'<li class="chip[^>]*><a href="/models/([^"]+)">[^<]*</a>(.*?)</li>', page, re.S)
    return {model_id: html.unescape(body) for model_id, body in found}


def _flags(page: str) -> list[str]:
    return [html.unescape(f) for f in re.findall(r'<li class="flag"><a [^>]*>([^<]*)</a>', page)]


def _client(registry: RegistryService, monkeypatch: pytest.MonkeyPatch) -> Any:
    return client_for(monkeypatch, registry.url, Settings.from_env().bucket_url)


def _compare(url: str, model_id: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert modelctl(["--registry-url", url, "compare", model_id, "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_every_challengers_verdict_in_two_queries_equals_compare(
    graded: RegistryService, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each enabled challenger cost two queries (its paired sample and its daily CLV): 10 challengers
    took 2.0 s on DuckDB. Now two queries for all of them, and each chip is exactly compare's."""
    client = _client(graded, monkeypatch)
    _at(monkeypatch, EVENING)
    stated = stated_queries("models", graded.list()) + 1  # +1: no serving manifest here (the models, to compare)
    calls = count_queries(monkeypatch)
    page = text(client.get("/"))
    assert len(calls) == stated, "\n".join(c.strip()[:70] for c in calls)
    assert sum("IN UNNEST(@challengers)" in sql for sql in calls) == 2
    chips, days = _chips(page), set()
    assert sorted(chips) == sorted(TRAIN_ENDS)
    for model_id in TRAIN_ENDS:
        c = _compare(graded.url, model_id, capsys)
        key = (c["driver"] or c["objective"]).lower()
        e = c[key if key in ("mae", "clv", "roi") else c["objective"]]
        low = "-inf" if e["low"] is None else f"{e['low']:+.3f}"
        high = "+inf" if e["high"] is None else f"{e['high']:+.3f}"
        assert c["verdict"].upper() in chips[model_id], (model_id, c["verdict"], chips[model_id])
        ci = "(interval not bounded yet)" if e["low"] is None and e["high"] is None else f"[{low}, {high}]"
        assert f"{e['estimate']:+.3f} {ci} over {e['days']} days" in chips[model_id], (c, chips[model_id])
        days.add(c["graded_days"])
    assert len(days) == 3  # each from its own training end: the shared read kept each one's own days


def test_the_last_slate_is_read_on_the_leagues_clock(graded: RegistryService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flag read yesterday on the UTC clock: on the demo (season over in March) it always said
    "no predictions for 2026-12-05", and in the US evening UTC-yesterday is today's slate, still
    being played. Now: the latest game date before today in New York, flagged only when it lacks
    predictions or grading."""
    client = _client(graded, monkeypatch)
    _at(monkeypatch, EVENING)  # 2026-03-20 in New York: its games are tonight's; the 19th is graded
    assert not [f for f in _flags(text(client.get("/"))) if "predictions" in f]
    ungraded = f"predictions for {LAST} are not graded"
    for moment in (datetime(2026, 3, 21, 15, 0, tzinfo=UTC), datetime(2026, 12, 5, 12, 0, tzinfo=UTC)):
        _at(monkeypatch, moment)  # the next morning, and the off-season: the last slate is the 20th
        flags = _flags(text(client.get("/")))
        assert [f for f in flags if "predictions" in f] == [f"{20 * len(TRAIN_ENDS) + 20} {ungraded}"], flags


def test_a_worker_nobody_hears_from_is_flagged(graded: RegistryService, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(graded, monkeypatch)
    _at(monkeypatch, EVENING)
    assert "no worker has acknowledged serving; 4 models are enabled" in _flags(text(client.get("/")))
    acks = AckStore(engine_of(graded))
    for worker, ago in (("w-live", timedelta(seconds=30)), ("w-gone", timedelta(hours=2))):
        acks.record(WorkerAck(worker, 0, "registry", CHAMPION, {}, None, EVENING - ago))
    flags = [f for f in _flags(text(client.get("/"))) if "worker" in f]
    assert flags == ["worker w-gone not heard from since 2026-03-21 01:00 UTC (it acknowledges at least every 3 min"
                     " while running)"], flags  # fmt: skip


def test_modelctl_workers_flags_the_silent_one_too(graded: RegistryService, capsys: pytest.CaptureFixture[str]) -> None:
    """The same rule (``acks.silent_after``, ``WorkerAck.silent``) on the wall clock, and ``behind``."""
    acks, now = AckStore(engine_of(graded)), datetime.now(UTC)
    acks.record(WorkerAck("w-now", 0, "registry", CHAMPION, {}, None, now - timedelta(seconds=5)))
    acks.record(WorkerAck("w-gone", 0, "registry", CHAMPION, {}, None, now - timedelta(hours=1)))
    capsys.readouterr()
    assert modelctl(["workers", "--json"]) == 0
    rows = {r["worker_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["w-now"]["silent"], rows["w-gone"]["silent"]) == (False, True)
    assert rows["w-now"]["behind_manifest"] is False  # a worker reading the registry follows the registry
    assert modelctl(["workers"]) == 0
    assert "silent (no ack for over 180 s)" in capsys.readouterr().out


def test_a_stopped_model_has_no_verdict(graded: RegistryService, monkeypatch: pytest.MonkeyPatch) -> None:
    """A retired model's page still said "KEEP WATCHING" and offered its verdict's actions."""
    retired, disabled, live = TRAIN_ENDS
    assert modelctl(["disable", retired, "--reason", "review"]) == 0
    assert modelctl(["retire", retired, "--reason", "review"]) == 0
    assert modelctl(["disable", disabled, "--reason", "review"]) == 0
    client = _client(graded, monkeypatch)
    _at(monkeypatch, EVENING)
    for model_id, state in ((retired, "retired"), (disabled, "disabled")):
        page = html.unescape(text(client.get(f"/models/{model_id}")))
        assert "Verdict:" not in page and "KEEP WATCHING" not in page and "promote despite" not in page, model_id
        assert f"No verdict: this model is {state}" in page
        assert "review" in page  # its history stays
    assert sorted(_chips(text(client.get("/")))) == [live]
    assert "Verdict:" in text(client.get(f"/models/{live}"))


def test_the_next_date_stops_at_the_latest_picks(graded: RegistryService, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(graded, monkeypatch)
    # the synthetic predictions are no champion_predictions rows: the picks of a date come from there
    engine = engine_of(graded)
    rows = engine.query("SELECT MAX(game_date) AS last FROM champion_predictions")
    latest = pd.Timestamp(rows[0]["last"]).date()
    before = text(client.get(f"/picks?date={latest - timedelta(days=1)}"))
    assert f'href="/picks?date={latest}" rel="next"' in before
    for day in (latest, latest + timedelta(days=30)):
        assert 'rel="next"' not in text(client.get(f"/picks?date={day}")), day
    assert 'rel="next"' not in text(client.get("/picks"))
