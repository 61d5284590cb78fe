"""The dashboard as a person uses it: after the demo, ``modelctl dashboard`` in its own process
(one for the module), Debian's Chromium (headless, driven by Selenium; one for the module).

The registry and bucket are a copy of the demo's, in which a real worker loads the serving set and
stops, and a registry change then moves the manifest on: that worker is behind it, and the home
page's now-strip must say so. Every page the app links to (crawled from ``/``, so pages added
later are visited too) is opened at 1,366 px and at 390 px: no sideways scroll, axe-core (when
``make emulators`` installed it into .local/axe) finds no serious or critical violation, the browser
logs no error (a CSP violation would be one), and a screenshot of each goes to .local/screens/
(``DASHBOARD_SCREENS=docs/screens`` refreshes the committed ones, so a test run leaves the tree clean). Each
page's warm answer time is printed. Spot checks: the leaderboard's and the now-strip's units, ROI
and intervals equal ``modelctl performance --json``.

``DASHBOARD_SCREENSHOT=docs/dashboard.png`` also copies the challenger's screenshot there
(how the README's picture is made).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from common.app import open_registry
from common.cli.main import main as modelctl
from common.dashboard.home import bracket, season_start, signed
from common.settings import Settings
from infra.local.processes import free_port
from tests.support.browser import available, chromium
from tests.support.demo import DemoRun

ROOT = Path(__file__).resolve().parent.parent
SCREENS = ROOT / os.environ.get("DASHBOARD_SCREENS", ".local/screens")
AXE = ROOT / ".local" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WIDE, PHONE = (1366, 900), (390, 844)
STALE_WORKER = "browser-test-worker"
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Site:
    url: str
    settings: Settings
    stale_generation: int  # what the stopped worker acknowledged


def _copy_demo(demo_run: DemoRun, folder: Path) -> Settings:
    """The demo's registry and bucket, copied (this module writes to them), the models' paths
    pointed at the copied bucket."""
    import duckdb

    shutil.copy(demo_run.sandbox / "registry.duckdb", folder / "registry.duckdb")
    shutil.copytree(demo_run.sandbox / "bucket", folder / "bucket")
    with duckdb.connect(str(folder / "registry.duckdb")) as con:
        old, new = f"file://{demo_run.sandbox / 'bucket'}/", f"file://{folder / 'bucket'}/"
        con.execute("UPDATE model_registry SET model_path = replace(model_path, ?, ?)", [old, new])
    manifest = folder / "bucket" / "manifests" / "serving.json"
    manifest.write_text(manifest.read_text().replace(old, new))
    return Settings(
        registry_url=f"duckdb://{folder / 'registry.duckdb'}",
        bucket_url=f"file://{folder / 'bucket'}",
        model_cache_dir=str(folder / "cache"),
    )


def _leave_a_worker_behind(settings: Settings) -> int:
    """A worker loads the serving set and stops; a registry change then rebuilds the manifest."""
    from common.worker.worker import Worker

    worker = Worker(settings, worker_id=STALE_WORKER, fuse=False)
    worker.reload()
    generation = worker.current.generation
    shadow = next(m for m in open_registry(settings).list() if m.enabled and not m.is_champion)
    where = ["--registry-url", settings.registry_url, "--bucket-url", settings.bucket_url]
    assert modelctl([*where, "disable", shadow.model_id, "--reason", "browser test: move the manifest on"]) == 0
    return generation


@pytest.fixture(scope="module")
def site(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """``modelctl dashboard --port P`` on the copy, as a real process."""
    ok, why = available()
    if not ok:
        pytest.skip(why)
    assert demo_run.returncode == 0, demo_run.output[-3000:]
    folder = tmp_path_factory.mktemp("dashboard-site")
    settings = _copy_demo(demo_run, folder)
    stale = _leave_a_worker_behind(settings)
    port = free_port()
    env = {**os.environ, "MODEL_REGISTRY_URL": settings.registry_url, "MODEL_BUCKET_URL": settings.bucket_url}
    log_path = folder / "dashboard.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "common.cli.main", "dashboard", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc, log_path)
        yield Site(url, settings, stale)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def driver(site: Site) -> Iterator[Any]:
    with chromium(*WIDE) as browser:
        yield browser


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"modelctl dashboard exited: {log.read_text()[-2000:]}"
        try:
            with urllib.request.urlopen(f"{url}/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"modelctl dashboard did not answer at {url}: {log.read_text()[-2000:]}")


def _errors(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _pages(driver: Any, site: Site, visit: Callable[[str], None]) -> list[str]:
    """Every page reachable by links from ``/`` on this site: one URL per kind of page (path with
    model ids as ``{id}``, and the set of query keys), so new pages are found without a list.
    ``visit(path)`` is called on each page as loaded for the crawl (at the window's size then)."""
    ids = sorted((m.model_id for m in open_registry(site.settings).list()), key=len, reverse=True)
    seen: dict[tuple[str, frozenset[str]], str] = {}
    queue = ["/"]
    while queue and len(seen) < 40:
        path = queue.pop(0)
        parts = urllib.parse.urlsplit(path)
        shape = parts.path
        for model_id in ids:
            shape = shape.replace(model_id, "{id}")
        key = (shape, frozenset(urllib.parse.parse_qs(parts.query)))
        if key in seen:
            continue
        seen[key] = path
        driver.get(site.url + path)
        # every link's resolved href in one round trip (not one WebDriver call per link)
        hrefs = driver.execute_script("return Array.from(document.querySelectorAll('a[href]'), a => a.href)")
        visit(path)
        for href in hrefs:
            target = urllib.parse.urlsplit(href)
            if f"{target.scheme}://{target.netloc}" == site.url and not target.path.startswith("/assets/"):
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return list(seen.values())


@functools.cache
def _axe_source() -> str:
    return AXE.read_text()


def _axe(driver: Any) -> list[str]:
    """axe-core's serious and critical violations on the current page (injected by WebDriver, not served)."""
    driver.execute_script(_axe_source())
    driver.set_script_timeout(60)
    passed, found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done([r.passes.length, r.violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))]))"
    )
    assert passed > 10, "axe-core checked next to nothing: was it injected?"
    return list(found)


def _warm_ms(url: str) -> float:
    """One request's time, on a page the browser has just loaded twice (so warm)."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        assert response.headers.get_all("Server") == ["dashboard"], response.headers  # no Werkzeug, no Python
    return 1000 * (time.perf_counter() - started)


def _shot(driver: Any, name: str, width: int) -> None:
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(width, min(height + 140, 3200))
    SCREENS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SCREENS / f"{name}-{width}.png"))


def _slug(path: str, ids: list[str]) -> str:
    for i, model_id in enumerate(ids):
        path = path.replace(model_id, f"model{i}")
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


def _overflow(driver: Any) -> int:
    return int(
        driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def test_every_page_fits_passes_axe_and_flags_the_worker_behind_the_manifest(driver: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    ids = [m.model_id for m in open_registry(site.settings).list()]
    failures: list[str] = []

    def check(path: str, width: int) -> None:
        if (overflow := _overflow(driver)) > 1:
            failures.append(f"{path} scrolls sideways by {overflow}px at {width}px")
        if width == WIDE[0] and AXE.exists():
            failures.extend(f"{path}: {v}" for v in _axe(driver))
        _shot(driver, _slug(path, ids), width)

    def both_widths(path: str) -> None:
        """At 1,366 px the page as the crawl loaded it; then loaded again at 390 px."""
        check(path, WIDE[0])
        driver.set_window_size(*PHONE)
        driver.get(site.url + path)
        check(path, PHONE[0])
        print(f"{path}: {_warm_ms(site.url + path):.0f} ms warm")
        driver.set_window_size(*WIDE)  # the crawl's next page loads at 1,366 px

    driver.set_window_size(*WIDE)
    pages = _pages(driver, site, both_widths)
    expected = {"/", "/timeline", "/operations", "/activity", "/?window=7"}
    assert expected <= {p.split("&")[0] for p in pages} | set(pages), pages
    assert any(p.startswith("/models/") for p in pages), pages
    assert failures == []
    assert _errors(driver) == []

    driver.set_window_size(*WIDE)
    driver.get(f"{site.url}/operations")
    manifest = int(driver.find_element(By.ID, "manifest-generation").text)
    assert manifest > site.stale_generation
    driver.get(f"{site.url}/")
    flags = driver.find_element(By.ID, "flags").text
    assert (
        f"worker {STALE_WORKER} serves generation {site.stale_generation}; the manifest is at generation {manifest}"
        in flags
    )
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed ({AXE}; make emulators installs it): every other check passed")


def _performance(settings: Settings, days: int, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    where = ["--registry-url", settings.registry_url, "--bucket-url", settings.bucket_url]
    assert modelctl([*where, "performance", "--json", "--days", str(days)]) == 0
    out = json.loads(capsys.readouterr().out)
    return {m["model_id"]: m["figures"] for m in out["models"] if m["figures"]}


def test_the_pages_money_figures_equal_modelctl_performance(
    driver: Any, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    from selenium.webdriver.common.by import By

    driver.set_window_size(*WIDE)
    thirty = _performance(site.settings, 30, capsys)
    assert thirty, "the demo graded nothing"
    driver.get(f"{site.url}/?window=30")
    for model_id, f in thirty.items():
        row = driver.find_element(By.XPATH, f"//table[contains(@class,'board')]//tr[th//a[text()='{model_id}']]")
        cell = {c.get_attribute("data-label"): c.text for c in row.find_elements(By.TAG_NAME, "td")}
        assert cell["Units"] == signed(f["units"]), model_id
        roi = signed(f["roi"], 1, 100.0, "%")
        assert cell["ROI"].split() == [roi, *bracket(f["roi_low"], f["roi_high"], 1, 100.0, "%").split()], model_id
        clv = [signed(f["clv"]), *bracket(f["clv_low"], f["clv_high"]).split()]
        assert cell["CLV (points)"].split() == clv, model_id
        assert cell["Hit rate (n)"] == f"{f['hit_rate']:.1f}% ({f['n_bets']})", model_id
    end = date.fromisoformat(max(f["end"] for f in thirty.values()))
    season = _performance(site.settings, (end - season_start(end)).days + 1, capsys)
    champion = next(m for m in open_registry(site.settings).list() if m.is_champion)
    f = season[champion.model_id]
    assert driver.find_element(By.ID, "now-units").text == signed(f["units"])
    roi = f"{signed(f['roi'], 1, 100.0, '%')} {bracket(f['roi_low'], f['roi_high'], 1, 100.0, '%')}"
    assert driver.find_element(By.ID, "now-roi").text == roi
    assert date.fromisoformat(f["start"]) == season_start(end)


def test_click_through_to_the_challenger_and_see_its_charts_and_verdict(driver: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    models = open_registry(site.settings).list()
    challenger = next(m for m in models if m.enabled and not m.is_champion)
    driver.set_window_size(1280, 900)
    driver.get(f"{site.url}/")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Models"
    link = driver.find_element(By.CSS_SELECTOR, f"table.board a[href='/models/{challenger.model_id}']")
    assert link.is_displayed()
    link.click()
    assert driver.current_url == f"{site.url}/models/{challenger.model_id}"
    verdict = driver.find_element(By.ID, "verdict")
    assert verdict.is_displayed() and "Verdict:" in verdict.text and "Rule:" in verdict.text
    for key in ("mae", "hit", "units"):
        svg = driver.find_element(By.CSS_SELECTOR, f"#chart-{key} svg")
        assert svg.is_displayed() and svg.size["width"] > 200 and svg.size["height"] > 60, key
        lines = driver.find_elements(By.CSS_SELECTOR, f"#chart-{key} polyline")
        assert len(lines) >= 2 and all(line.is_displayed() for line in lines), key
    commands = driver.find_element(By.CSS_SELECTOR, "dl.commands").text
    assert f"modelctl promote {challenger.model_id}" in commands
    assert _errors(driver) == []
    if target := os.environ.get("DASHBOARD_SCREENSHOT"):  # the README's picture: card, verdict, charts
        driver.set_window_size(1280, 1800)
        driver.save_screenshot(str(ROOT / target))


def test_the_keyboard_reaches_a_model_page_on_a_phone(driver: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    champion = next(m for m in open_registry(site.settings).list() if m.is_champion)
    driver.set_window_size(*PHONE)
    driver.get(f"{site.url}/")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert driver.switch_to.active_element.text == "Skip to content"
    for _ in range(40):  # Tab through the nav and the now-strip until the champion's link has focus
        if driver.switch_to.active_element.text == champion.model_id:
            break
        driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.text == champion.model_id
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    assert driver.current_url == f"{site.url}/models/{champion.model_id}"
    current = driver.find_elements(By.CSS_SELECTOR, "nav a[aria-current]")
    assert [a.text for a in current] == [], "a model page is not the models page"
    assert _errors(driver) == []


def test_what_the_server_refuses_before_flask_carries_the_headers(site: Site) -> None:
    """Review of issue 24: a request line over 64 KiB (414) or over 100 headers (431) was answered by
    the HTTP server itself, without the Content-Security-Policy and the other security headers."""
    import socket

    port = int(site.url.rsplit(":", 1)[1])
    for raw, status in ((b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b" 414 "),
                        (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 120 + b"\r\n", b" 431 ")):  # fmt: skip
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(raw)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        assert status.decode() in head.splitlines()[0], head
        assert "Content-Security-Policy: default-src 'none'" in head and "X-Frame-Options: DENY" in head, head
        assert "Werkzeug" not in head and "Python" not in head, head


def test_the_feeds_reasons_wrap_between_words(driver: Any, site: Site) -> None:
    """Review of issue 24: the activity feed's Reason cell broke words anywhere ("CS [-i / nf]",
    "2026 / -02-22"): it carried ``.wrap`` (word-break: break-all), meant for hashes and paths."""
    from selenium.webdriver.common.by import By

    driver.set_window_size(*WIDE)
    driver.get(f"{site.url}/activity")
    cells = driver.find_elements(By.CSS_SELECTOR, "td[data-label='Reason']")
    assert cells
    for cell in cells:
        assert driver.execute_script("return getComputedStyle(arguments[0]).wordBreak", cell) != "break-all"
