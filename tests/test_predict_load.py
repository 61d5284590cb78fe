"""Fault injection under load (issue 11, "Done means"): the `predict` function in a real
functions-framework process answers a request every 50 ms for 20 s while the registry flips
10 times and one model's file is corrupted mid-run. No request fails, no stored row is lost,
GET /status always answers. Prints: requests, failures, reloads, rows.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from common.app import open_registry
from common.data.synth import generate_season
from common.settings import Settings
from common.sql import open_engine
from common.storage import FileBucket
from tests.support.serving import serving_registry
from tests.support.tiny import tiny_card

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_FRAMEWORK = Path(sys.executable).with_name("functions-framework")
DATES = (date(2026, 1, 15), date(2026, 1, 16), date(2026, 1, 17))
RUN_SECONDS, TICK, FLIPS = 20.0, 0.05, 10


@dataclass
class Tally:
    """What the client saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: int = 0
    generations: set[int] = field(default_factory=set)
    written: dict[tuple[date, str], int] = field(default_factory=dict)  # (date, system_id) → rows a 200 reported

    def record(self, kind: str, response: requests.Response | Exception, game_date: date | None) -> None:
        with self.lock:
            self.requests += 1
            if isinstance(response, Exception) or response.status_code != 200:
                detail = response if isinstance(response, Exception) else f"{response.status_code} {response.text}"
                self.failures.append(f"{kind}: {detail}"[:300])
                return
            body = response.json()
            self.generations.add(body["generation"])
            if kind == "status":
                self.statuses += 1
            else:
                for signal_ in body["signals"]:
                    self.written[(game_date, signal_["system_id"])] = signal_["n"]  # type: ignore[index]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(isolated_env: Path) -> dict[str, str]:
    """A season, a v9 champion and two shadows; ``flipper`` is the one the registry flips."""
    models = {
        "champion": (tiny_card("v9"), 1),
        "shadow": (tiny_card("v12_noveg"), 2),
        "flipper": (tiny_card("v9", "Quantile", 0.45), 3),
    }
    return serving_registry(Settings.from_env(), generate_season(seed=11), models)


@pytest.fixture
def server(served: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`predict` under functions-framework, as deployed: its own process, polling the manifest."""
    port = free_port()
    log = tmp_path / "predict.log"
    env = {**os.environ, "MANIFEST_POLL_SECONDS": "0.1", "PYTHONPATH": str(ROOT)}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(FUNCTIONS_FRAMEWORK), "--target=predict", f"--source={ROOT / 'functions/predict/main.py'}",
             "--signature-type=http", "--host=127.0.0.1", f"--port={port}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/status", timeout=10).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        yield url, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def corrupt(name: str, sha256: str) -> None:
    """The model's object in the bucket and the worker's cached copy both become random bytes."""
    settings = Settings.from_env()
    FileBucket(settings.bucket_url).path(name).write_bytes(os.urandom(4096))
    cached = Path(settings.model_cache_dir) / f"{sha256}.cbm"
    if cached.exists():
        cached.write_bytes(os.urandom(4096))


def stored_rows() -> dict[tuple[date, str], int]:
    rows = open_engine(Settings.from_env().registry_url).query(
        "SELECT game_date, system_id, COUNT(*) AS n FROM player_prop_predictions GROUP BY 1, 2"
    )
    return {(r["game_date"], r["system_id"]): r["n"] for r in rows}


def test_predict_under_load_with_registry_flips_and_a_corrupted_model(
    served: dict[str, str], server: tuple[str, Path]
) -> None:
    url, log = server
    tally = Tally()
    # Every model scores every date once before the run: these rows must all survive it.
    for day in DATES:
        tally.record("predict", requests.post(url, json={"game_date": day.isoformat()}, timeout=60), day)
    assert not tally.failures, tally.failures
    registry = open_registry(Settings.from_env())
    flipper = registry.get(served["flipper"])
    posting: list[Future[Any]] = []

    def predict(day: date) -> None:
        try:
            tally.record("predict", requests.post(url, json={"game_date": day.isoformat()}, timeout=60), day)
        except requests.RequestException as exc:
            tally.record("predict", exc, day)

    def status() -> None:
        try:
            tally.record("status", requests.get(f"{url}/status", timeout=10), None)
        except requests.RequestException as exc:
            tally.record("status", exc, None)

    flips = 0
    with ThreadPoolExecutor(max_workers=16) as pool:
        start = time.monotonic()
        for tick in range(int(RUN_SECONDS / TICK)):
            time.sleep(max(0.0, start + tick * TICK - time.monotonic()))
            # One slate in flight at a time (a slate costs seconds of CPU); every other tick asks /status.
            if not posting or posting[-1].done():
                posting.append(pool.submit(predict, DATES[len(posting) % len(DATES)]))
            else:
                pool.submit(status)
            every = int(RUN_SECONDS / TICK / FLIPS)
            if (tick + every // 2) % every == 0:  # halfway through each of FLIPS equal slices
                flips += 1
                (registry.disable if flips % 2 else registry.enable)(served["flipper"])
                if flips == 5:  # disabled now: when it is enabled again, the worker must fetch it
                    corrupt("models/flipper.cbm", flipper.sha256 or "")
    deadline = time.monotonic() + 10  # the last flip was half a slice ago: let the poller catch up
    while served["flipper"] not in (final := requests.get(f"{url}/status", timeout=10).json())["skipped"]:
        assert time.monotonic() < deadline, final
        time.sleep(0.1)
    rows = stored_rows()
    reloads = log.read_text().count("Loaded ")
    print(
        f"\nrequests {tally.requests} ({tally.statuses} GET /status, {tally.requests - tally.statuses} POST), "
        f"failures {len(tally.failures)}, registry flips {flips}, reloads {reloads}, "
        f"generations seen {len(tally.generations)}, rows {sum(rows.values())} in {len(rows)} (date, model) pairs"
    )
    assert not tally.failures, tally.failures[:5]
    assert flips == FLIPS and tally.requests >= RUN_SECONDS / TICK
    assert reloads >= FLIPS // 2 and len(tally.generations) >= FLIPS // 2
    assert served["flipper"] in final["skipped"] and "sha256" in final["skipped"][served["flipper"]]
    assert final["champion"] == served["champion"] and final["problem"] is None
    lost = {key: n for key, n in tally.written.items() if rows.get(key) != n}
    assert not lost, f"stored rows lost or changed: {lost}"
    assert {(day, model) for day in DATES for model in served.values()} <= set(rows)
