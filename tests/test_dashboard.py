"""The dashboard through functions-framework's own app: every page on the demo registry, 404s,
hostile text kept as text, the security headers, and how many queries each page costs."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from functions_framework import create_app

from common.app import open_registry
from common.cli.main import main as modelctl
from common.dashboard.web import CSP, PAGE_QUERIES, VERDICT_QUERIES
from common.registry.registration import RegistrationService
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.sql_bigquery import BigQueryEngine
from common.sql_duckdb import DuckDBEngine
from common.storage import FileBucket
from tests.conftest import ModelFiles
from tests.support.demo import DemoRun
from tests.support.migrated import migrated_store
from tests.support.tiny import tiny_card, tiny_model_bytes

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "<script>alert(1)</script>"


def client_for(monkeypatch: pytest.MonkeyPatch, registry_url: str, bucket_url: str) -> FlaskClient:
    monkeypatch.setenv("MODEL_REGISTRY_URL", registry_url)
    monkeypatch.setenv("MODEL_BUCKET_URL", bucket_url)
    # create_app loads main.py afresh: a new instance, which reads its settings once
    app = create_app("dashboard", str(ROOT / "functions" / "dashboard" / "main.py"), "http")
    return app.test_client()


@pytest.fixture
def demo(demo_run: DemoRun, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FlaskClient, DemoRun]]:
    assert demo_run.returncode == 0, demo_run.output[-3000:]
    s = demo_run.settings
    yield client_for(monkeypatch, s.registry_url, s.bucket_url), demo_run


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def leaderboard(page: str) -> str:
    """The home page's leaderboard table alone."""
    start = page.index('<table class="models board">')
    return page[start : page.index("</table>", start)]


def assert_safe_page(response: Any) -> None:
    """The headers every answer carries; no script and nothing loaded from elsewhere."""
    assert response.headers["Content-Security-Policy"] == CSP
    assert "script-src" not in CSP and "default-src 'none'" in CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = text(response)
    assert "<script" not in body.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", body), "a page must load nothing from elsewhere"
    assert not re.search(r"\sstyle=", body), "inline styles would need 'unsafe-inline'"


@pytest.mark.slow
def test_every_page_answers_on_the_demo_registry(demo: tuple[FlaskClient, DemoRun]) -> None:
    client, run = demo
    models = open_registry(run.settings).list()
    champion = next(m for m in models if m.is_champion)
    challenger = next(m for m in models if not m.is_champion)
    home = client.get("/")
    assert home.status_code == 200 and home.mimetype == "text/html"
    assert_safe_page(home)
    for m in models:
        assert f'href="/models/{m.model_id}"' in text(home)
    for path in ("/models", "/timeline", "/operations", *(f"/models/{m.model_id}" for m in models)):
        response = client.get(path)
        assert response.status_code == 200, (path, text(response)[:2000])
        assert_safe_page(response)
    page = text(client.get(f"/models/{challenger.model_id}"))
    assert "Verdict:" in page and "Rule:" in page and champion.model_id in page
    assert "Objective: <strong>mae</strong>" in page  # the family's objective (the default here)
    assert page.count("<polyline") >= 6  # three charts, this model and the champion in each
    assert f"modelctl promote {challenger.model_id}" in page and f"modelctl retire {challenger.model_id}" in page
    assert challenger.sha256 and challenger.sha256 in page
    assert "data_fingerprint" in page  # the card came from the file itself
    assert "this model is the champion" in text(client.get(f"/models/{champion.model_id}"))
    timeline = text(client.get("/timeline"))
    assert "first champion" in timeline and ("compare: promote" in timeline or "demo: promoting" in timeline)
    operations = text(client.get("/operations"))
    assert "demo-worker" in operations and "retrain_reminder:" in operations
    css = client.get("/assets/dashboard.css")
    assert css.status_code == 200 and css.mimetype == "text/css"


@pytest.mark.slow
def test_unknown_pages_and_models_answer_404_and_writes_405(demo: tuple[FlaskClient, DemoRun]) -> None:
    client, _ = demo
    for path in ("/models/catboost_v9_mae_train0101_0102", "/nope", "/models/%3Cscript%3E"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert_safe_page(response)
    assert "&lt;script&gt;" in text(client.get("/models/%3Cscript%3E"))
    post = client.post("/", data={"x": "1"})
    assert post.status_code == 405 and post.headers["Allow"] == "GET, HEAD"


@pytest.mark.slow
def test_filters_by_family_and_role(demo: tuple[FlaskClient, DemoRun]) -> None:
    client, run = demo
    models = open_registry(run.settings).list()
    for m in models:  # the leaderboard (the now-strip and staleness panel show every family)
        body = leaderboard(text(client.get(f"/?family={m.model_family}")))
        assert f'href="/models/{m.model_id}"' in body
        assert all(f'href="/models/{o.model_id}"' not in body for o in models if o.model_family != m.model_family)
    champion = next(m for m in models if m.is_champion)
    shadows = leaderboard(text(client.get("/?role=shadow")))
    assert f'href="/models/{champion.model_id}"' not in shadows
    assert "No model matches." in text(client.get("/?role=retired"))


def count_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement either engine runs from now on (the list is cleared by the caller)."""
    calls: list[str] = []
    for engine in (DuckDBEngine, BigQueryEngine):
        for name in ("query", "query_frame"):
            original = getattr(engine, name)

            def counted(self: Any, sql: str, params: Any = None, _original: Any = original) -> Any:
                calls.append(sql)
                return _original(self, sql, params)

            monkeypatch.setattr(engine, name, counted)
    return calls


def stated_queries(page: str, models: list[Any]) -> int:
    """``PAGE_QUERIES`` plus what the page adds when it has an enabled challenger (however many)."""
    challengers = any(m.serves and not m.is_champion for m in models) and any(m.is_champion for m in models)
    return PAGE_QUERIES[page] + (VERDICT_QUERIES.get(page, 0) if challengers else 0)


@pytest.mark.slow
def test_each_page_costs_the_stated_number_of_queries(
    demo: tuple[FlaskClient, DemoRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, run = demo
    calls = count_queries(monkeypatch)
    models = open_registry(run.settings).list()
    challenger = next(m for m in models if not m.is_champion)
    for page, path in (
        ("models", "/"),
        ("models", "/?window=season&sort=roi"),
        ("model", f"/models/{challenger.model_id}"),
        ("timeline", "/timeline"),
        ("operations", "/operations"),
        ("activity", "/activity"),
        ("activity", f"/activity?family={challenger.model_family}&page=2"),
    ):
        calls.clear()
        assert client.get(path).status_code == 200
        assert len(calls) == stated_queries(page, models), (page, calls)


def test_hostile_text_stays_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()  # the migrated template
    source = tmp_path / "hostile.cbm"
    source.write_bytes(tiny_model_bytes(tiny_card("v9", description=HOSTILE), seed=11))
    assert modelctl(["register", str(source)]) == 0
    (record,) = open_registry(open_settings()).list()
    assert record.description == HOSTILE
    reason = '"><img src=x onerror=alert(2)>'
    assert modelctl(["enable", record.model_id, "--reason", reason]) == 0
    client = client_for(monkeypatch, open_settings().registry_url, open_settings().bucket_url)
    for path in ("/", f"/models/{record.model_id}", "/timeline", "/operations", "/activity"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_safe_page(response)
    page = text(client.get(f"/models/{record.model_id}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the registry's description and the card's
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<img" not in page
    feed = text(client.get("/activity"))
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in feed and "<img" not in feed


def test_pages_answer_on_an_empty_registry_and_explain_an_unmigrated_one(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = open_settings()
    client = client_for(monkeypatch, settings.registry_url, settings.bucket_url)
    unmigrated = client.get("/")
    assert unmigrated.status_code == 500 and "modelctl migrate" in text(unmigrated)
    assert_safe_page(unmigrated)
    assert modelctl(["migrate"]) == 0
    for path in ("/", "/timeline", "/operations"):
        response = client.get(path)
        assert response.status_code == 200, (path, text(response)[:2000])
    assert "No model matches." in text(client.get("/"))
    assert "No model has been champion yet." in text(client.get("/timeline"))
    assert "Nothing graded yet." in text(client.get("/operations"))


def open_settings() -> Any:
    from common.settings import Settings

    return Settings.from_env()


def test_every_page_runs_the_same_services_on_each_engine(
    engine_url: str,
    registration: RegistrationService,
    registry: RegistryService,
    bucket: FileBucket,
    model_files: ModelFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DuckDB and the BigQuery emulator: the same pages, queries and answers (no graded days here)."""
    champion = registration.register_object(bucket.write("a.cbm", model_files.v9_mae).name).record.model_id
    shadow = registration.register_object(bucket.write("b.cbm", model_files.v12_mae).name).record.model_id
    registry.enable(champion, reason="gates passed")
    registry.promote(champion, reason="first champion")
    registry.enable(shadow, reason=HOSTILE)
    client = client_for(monkeypatch, engine_url, bucket.url)
    models = registry.list()
    calls = count_queries(monkeypatch)
    for path in ("/", "/timeline", "/operations", "/activity", f"/models/{champion}", f"/models/{shadow}"):
        calls.clear()
        response = client.get(path)
        assert response.status_code == 200, (path, text(response)[:2000])
        assert_safe_page(response)
        page = {"/": "models", "/timeline": "timeline", "/operations": "operations", "/activity": "activity"}
        if path in page:  # bounded on each engine: the stated count, -1 before anything is graded (no daily
            # rows to read), -1 more on the home page before any game (no last slate to count), +1 when
            # the manifest records another registry version (the models)
            stated = stated_queries(page[path], models)
            assert stated - 2 <= len(calls) <= stated + 1, (path, stated, calls)
    page = text(client.get(f"/models/{shadow}"))
    assert "KEEP WATCHING" in page and "insufficient evidence" in page  # nothing graded: the verdict says so
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "first champion" in text(client.get("/timeline"))
    assert client.get("/models/catboost_v9_mae_train0101_0102").status_code == 404


def test_modelctl_dashboard_says_what_is_wrong_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    assert modelctl(["dashboard", "--port", "8050"]) == 5  # not migrated: nothing is served
    assert "run `modelctl migrate`" in capsys.readouterr().err
    assert modelctl(["migrate"]) == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert modelctl(["dashboard", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "pick another --port" in err
    assert len(err.strip().splitlines()) == 1


BIDI = "\u202eevil\u202c \u2066isolated\u2069 \u200fmark\u200e \u061c"
BIDI_CHARS = ("\u202e", "\u202c", "\u2066", "\u2069", "\u200f", "\u200e", "\u061c")


def test_bidirectional_controls_never_reach_the_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A description, a reason and an actor carrying bidi overrides, isolates and marks: the CLI strips
    them (common/text.py), and so does every page (the same definition), while the registry keeps them.
    (MODELCTL_ACTOR now refuses control characters; an actor stored before that, as written here
    through the service, is still stripped from every page.)"""
    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()  # the migrated template
    source = tmp_path / "bidi.cbm"
    source.write_bytes(tiny_model_bytes(tiny_card("v9", description=f"desc {BIDI}"), seed=12))
    assert modelctl(["register", str(source)]) == 0
    (record,) = open_registry(open_settings()).list()
    assert modelctl(["enable", record.model_id, "--reason", f"why {BIDI}"]) == 0
    older = RegistryService(RegistryStore.open(open_settings().registry_url), actor=f"ops{BIDI}")
    older.promote(record.model_id, reason=f"crowned {BIDI}")
    assert "\u202e" in (record.description or "")  # stored as given
    client = client_for(monkeypatch, open_settings().registry_url, open_settings().bucket_url)
    for path in ("/", f"/models/{record.model_id}", "/timeline", "/operations", "/activity"):
        page = text(client.get(path))
        assert not [c for c in BIDI_CHARS if c in page], (path, [hex(ord(c)) for c in BIDI_CHARS if c in page])
    page = text(client.get(f"/models/{record.model_id}"))
    assert "desc evil isolated mark" in page and "why evil" in page and "opsevil" in page
    assert "crowned evil" in text(client.get("/timeline")) and "crowned evil" in text(client.get("/activity"))


def test_no_static_route_and_options_is_refused_with_the_headers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Flask's default route served $CWD/static/* without CSP, and OPTIONS answered 200 listing
    DELETE, PATCH, POST, PUT; on both the function and `modelctl dashboard`'s app."""
    from common.dashboard.web import make_app

    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "secret.txt").write_text("secret")
    monkeypatch.chdir(tmp_path)  # Flask roots its default static folder at the working directory
    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()  # the migrated template
    settings = open_settings()
    for client in (
        client_for(monkeypatch, settings.registry_url, settings.bucket_url),
        make_app(settings).test_client(),
    ):
        static = client.get("/static/secret.txt")
        assert static.status_code == 404 and "secret" not in text(static).replace("secret.txt", "")
        assert_safe_page(static)
        for path in ("/", "/?window=7", "/models/x", "/timeline", "/operations", "/activity", "/assets/dashboard.css",
                     "/nope"):  # fmt: skip
            for method in ("OPTIONS", "TRACE", "DELETE"):  # every route: refused, with the headers
                response = client.open(path, method=method)
                assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD", (path, method)
                assert_safe_page(response)
        for path in ("/favicon.ico", "/robots.txt"):  # functions-framework's own 404 routes: no headers
            for method in ("GET", "OPTIONS"):
                response = client.open(path, method=method)
                assert response.status_code in (204, 404, 405), (path, method)  # as `modelctl dashboard`
                assert_safe_page(response)
        css = client.get("/assets/dashboard.css")  # the dashboard's own stylesheet is still served
        assert css.status_code == 200 and css.mimetype == "text/css" and b"{" in css.data
        assert client.get("/").status_code == 200


@pytest.mark.slow
def test_the_home_side_on_the_demo(demo: tuple[FlaskClient, DemoRun], monkeypatch: pytest.MonkeyPatch) -> None:
    """Staleness counted to the latest graded date (the reminder's rule), the worker acks' problem
    column, the activity feed filtered and paged, and bad query values refused with the valid ones."""
    from common.dashboard import views
    from common.grading.store import GradingStore
    from common.reminder import staleness
    from common.sql import open_engine

    client, run = demo
    models = open_registry(run.settings).list()
    end = GradingStore(open_engine(run.settings.registry_url)).latest_graded()
    assert end is not None
    home = text(client.get("/"))
    for family in staleness(models, end, run.settings.reminder_levels):
        assert f'<th scope="row">{family.family}</th><td class="num" data-label="Days">{family.days}</td>' in home
        assert f"<code>{family.command}</code>" in home
    assert f"counted to the latest graded date ({end})" in home
    operations = text(client.get("/operations"))
    assert '<th scope="col">Problem</th>' in operations and 'id="manifest-generation"' in operations
    assert '<th scope="col" class="num">Graded</th>' in operations  # numbers and their headers both right-aligned
    assert "file://" not in text(client.get("/activity")) + operations
    family = models[0].model_family
    feed = text(client.get(f"/activity?family={family}"))
    assert all(f">{m.model_id}</a>" not in feed for m in models if m.model_family != family)
    assert f">{models[0].model_id}</a>" in feed
    monkeypatch.setattr(views, "ACTIVITY_PAGE", 2)
    first, second = text(client.get("/activity")), text(client.get("/activity?page=2"))
    assert first.count('<tr class="event">') == 2 and second.count('<tr class="event">') == 2
    assert 'href="/activity?page=2" rel="next"' in first and 'rel="prev"' in second
    refused = (
        ("/?window=9", "window must be one of 7, 14, 30, season"),
        ("/?sort=x", "sort must be one of"),
        ("/activity?page=0", "page must be a whole number"),
        ("/activity?page=x", "page must be"),
    )
    for bad, why in refused:
        response = client.get(bad)
        assert response.status_code == 400 and why in text(response), bad
        assert_safe_page(response)


@pytest.mark.slow
def test_the_home_page_says_which_way_and_which_clv(demo: tuple[FlaskClient, DemoRun]) -> None:
    """Review of issue 24. A chip read "MAE +0.386" for a challenger that is worse (its MAE higher):
    the sign is challenger − champion and nothing said so, nor which way is better. The leaderboard's
    CLV is the line's move in points (+0.16) while the model page's and the objective's CLV is
    no-vig probability (+1.55 points of probability): both were called "CLV". An unknown role
    showed "0 of 3 models" instead of an error; ``/models/`` (the list's own address) answered 404."""
    client, run = demo
    home = html.unescape(text(client.get("/")))
    chips = re.findall(r'<li class="chip[^>]*>(.*?)</li>', home, re.S)
    assert chips and all("challenger − champion" in c for c in chips), chips
    assert all(re.search(r"(lower|higher) is better", c) for c in chips), chips
    board = leaderboard(home)
    header = re.search(r'<a href="/\?window=30&sort=clv">([^<]*)</a>', board)
    assert header and "points" in header.group(1), board[:2000]
    assert re.search(r"CLV[^.]*closing line[^.]*bet", home), "the leaderboard says what its CLV measures"
    response = client.get("/?role=champions")
    assert response.status_code == 400 and "role must be one of champion, shadow" in text(response)
    assert client.get("/models/").status_code == 200


def test_a_challenger_with_nothing_shared_shows_no_figures(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Review of issue 24: a challenger with no graded day shared with the champion showed
    "Units +0.0" for itself and the champion on the verdict's shared player-games (there are none),
    while every other figure there said "–"."""
    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()  # the migrated template
    for seed, feature_set in ((21, "v9"), (22, "v12")):
        source = tmp_path / f"{feature_set}.cbm"
        source.write_bytes(tiny_model_bytes(tiny_card(feature_set), seed=seed))
        assert modelctl(["register", "--enable", str(source)]) == 0
    champion, challenger = sorted(open_registry(open_settings()).list(), key=lambda m: m.feature_set)
    assert modelctl(["promote", champion.model_id, "--force", "--reason", "review: no evidence yet"]) == 0
    client = client_for(monkeypatch, open_settings().registry_url, open_settings().bucket_url)
    page = text(client.get(f"/models/{challenger.model_id}"))
    row = re.search(r'<th scope="row">Units \[95%\]</th>(.*?)</tr>', page, re.S)
    assert row and "+0.0" not in row.group(1) and row.group(1).count(">–<") == 2, row
    chip = re.search(r'<li class="chip[^>]*>(.*?)</li>', text(client.get("/")), re.S)
    assert chip and "no graded day shared with the champion yet" in chip.group(1), chip
    assert "[-inf" not in chip.group(1)  # it read "MAE – [-inf, +inf] over 0 days"
