"""Debian's headless Chromium driven by Selenium (installed by ``tests/support/install_browser.sh``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)  # fmt: skip


def available() -> tuple[bool, str]:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False, "selenium is not installed (make venv)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            return False, f"{path} missing (make emulators runs tests/support/install_browser.sh)"
    return True, ""


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless Chromium window of ``width`` × ``height``; quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
