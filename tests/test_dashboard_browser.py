"""The dashboard as a person uses it: after the demo, ``modelctl dashboard`` in its own process,
Debian's Chromium (headless, driven by Selenium) opens the models page, clicks through to the
challenger and sees its charts and verdict; the keyboard gets there too; a phone-sized window
does not scroll sideways; the browser reports no error (a CSP violation would be one).

``DASHBOARD_SCREENSHOT=docs/dashboard.png`` also copies the challenger's screenshot there
(how the README's picture is made).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.app import open_registry
from infra.local.processes import free_port
from tests.support.browser import available, chromium
from tests.support.demo import DemoRun

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture
def server(demo_run: DemoRun, tmp_path: Path) -> Iterator[str]:
    """``modelctl dashboard --port P`` on the demo's registry, as a real process."""
    ok, why = available()
    if not ok:
        pytest.skip(why)
    assert demo_run.returncode == 0, demo_run.output[-3000:]
    port = free_port()
    env = {
        **os.environ,
        "MODEL_REGISTRY_URL": demo_run.settings.registry_url,
        "MODEL_BUCKET_URL": demo_run.settings.bucket_url,
    }
    log = (tmp_path / "dashboard.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "common.cli.main", "dashboard", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc, tmp_path / "dashboard.log")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


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


def test_click_through_to_the_challenger_and_see_its_charts_and_verdict(
    server: str, demo_run: DemoRun, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    models = open_registry(demo_run.settings).list()
    challenger = next(m for m in models if m.enabled and not m.is_champion)
    with chromium(1280, 900) as driver:
        driver.get(f"{server}/")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Models"
        link = driver.find_element(By.LINK_TEXT, challenger.model_id)
        assert link.is_displayed()
        link.click()
        assert driver.current_url == f"{server}/models/{challenger.model_id}"
        verdict = driver.find_element(By.ID, "verdict")
        assert verdict.is_displayed() and "Verdict:" in verdict.text and "Rule:" in verdict.text
        for key in ("mae", "hit", "units"):
            svg = driver.find_element(By.CSS_SELECTOR, f"#chart-{key} svg")
            assert svg.is_displayed() and svg.size["width"] > 200 and svg.size["height"] > 60, key
            lines = driver.find_elements(By.CSS_SELECTOR, f"#chart-{key} polyline")
            assert len(lines) >= 2 and all(line.is_displayed() for line in lines), key
        commands = driver.find_element(By.CSS_SELECTOR, "dl.commands").text
        assert f"modelctl promote {challenger.model_id}" in commands
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(int(height) + 120, 4000))
        shot = tmp_path / "dashboard-challenger.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        assert _errors(driver) == []
        if target := os.environ.get("DASHBOARD_SCREENSHOT"):  # the README's picture: card, verdict, charts
            driver.set_window_size(1280, 1800)
            driver.save_screenshot(str(ROOT / target))


def test_the_keyboard_reaches_every_page_and_a_phone_does_not_scroll_sideways(
    server: str, demo_run: DemoRun, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    challenger = next(m for m in open_registry(demo_run.settings).list() if m.enabled and not m.is_champion)
    with chromium(390, 844) as driver:
        driver.get(f"{server}/")
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        assert driver.switch_to.active_element.text == "Skip to content"
        for _ in range(40):  # Tab through nav, filters and table until the challenger's link has focus
            if driver.switch_to.active_element.text == challenger.model_id:
                break
            driver.switch_to.active_element.send_keys(Keys.TAB)
        assert driver.switch_to.active_element.text == challenger.model_id
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        assert driver.current_url == f"{server}/models/{challenger.model_id}"
        for path in ("/", f"/models/{challenger.model_id}", "/timeline", "/operations"):
            driver.get(f"{server}{path}")
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
        driver.save_screenshot(str(tmp_path / "dashboard-phone.png"))
        assert _errors(driver) == []
