"""The demo run once per session (``python -m infra.demo`` in a sandbox), shared by every test that needs it.

``tests/conftest.py`` imports the ``demo_run`` fixture, so ``test_demo.py`` and the dashboard's
tests reuse one run. It runs with the README's production exports set, pointed at a loopback
listener that records any connection: nothing may reach it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from common.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DemoRun:
    sandbox: Path
    output: str
    returncode: int
    connections: list[str]

    @property
    def settings(self) -> Settings:
        return Settings(
            registry_url=f"duckdb://{self.sandbox / 'registry.duckdb'}",
            bucket_url=f"file://{self.sandbox / 'bucket'}",
            model_cache_dir=str(self.sandbox / "cache" / "models"),
        )


def _tripwire() -> tuple[socket.socket, list[str]]:
    """A loopback listener standing in for every production endpoint; it records who calls."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    seen: list[str] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            seen.append(conn.recv(200).decode("latin-1", "replace"))
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    return server, seen


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    server, seen = _tripwire()
    port = server.getsockname()[1]
    production = {
        "MODEL_REGISTRY_URL": f"bigquery://nba-props-platform/nba_predictions?endpoint=http://127.0.0.1:{port}",
        "MODEL_BUCKET_URL": "gs://nba-props-platform-models",
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}",
        "EVENT_BUS_URL": "pubsub://nba-props-platform",
        "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{port}",
        "SLACK_WEBHOOK_URL": f"https://127.0.0.1:{port}/services/T000/B000/XXXX",
        "MODEL_CACHE_DIR": str(tmp_path_factory.mktemp("not-the-demo-cache")),
    }
    sandbox = tmp_path_factory.mktemp("demo") / "sandbox"
    sandbox.mkdir()
    (sandbox / "stale.txt").write_text("from an earlier run")
    env = {**os.environ, **production, "COLUMNS": "80"}  # a plain terminal: what `make demo` shows most people
    done = subprocess.run(
        [sys.executable, "-m", "infra.demo", "--dir", str(sandbox)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    server.close()
    yield DemoRun(sandbox, done.stdout + done.stderr, done.returncode, seen)
