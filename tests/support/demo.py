"""The demo run once per session (``python -m infra.demo`` in a sandbox), shared by every test that needs it.

``tests/conftest.py`` imports the ``demo_run`` fixture, so ``test_demo.py`` and the dashboard's
tests reuse one run, across xdist workers too (a file lock in the run's shared temp folder).
It runs with the README's production exports set, pointed at a loopback listener that records
any connection: nothing may reach it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
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


def _run_demo(sandbox: Path, cache: Path) -> DemoRun:
    server, seen = _tripwire()
    port = server.getsockname()[1]
    production = {
        "MODEL_REGISTRY_URL": f"bigquery://nba-props-platform/nba_predictions?endpoint=http://127.0.0.1:{port}",
        "MODEL_BUCKET_URL": "gs://nba-props-platform-models",
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}",
        "EVENT_BUS_URL": "pubsub://nba-props-platform",
        "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{port}",
        "SLACK_WEBHOOK_URL": f"https://127.0.0.1:{port}/services/T000/B000/XXXX",
        "MODEL_CACHE_DIR": str(cache),
    }
    sandbox.mkdir(parents=True)
    (sandbox / "stale.txt").write_text("from an earlier run")
    env = {**os.environ, **production, "COLUMNS": "80"}  # a plain terminal: what `make demo` shows most people
    done = subprocess.run(
        [sys.executable, "-m", "infra.demo", "--dir", str(sandbox)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    server.close()
    return DemoRun(sandbox, done.stdout + done.stderr, done.returncode, seen)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One demo per test run: the first xdist worker to need it runs it under a file lock and
    records the result; the others wait on the lock and read the record (the demo is ~30 s of CPU)."""
    base = tmp_path_factory.getbasetemp()
    home = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "demo-shared"
    home.mkdir(exist_ok=True)
    record = home / "run.json"
    with open(home / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        if not record.exists():
            run = _run_demo(home / "sandbox", home / "not-the-demo-cache")
            fields = {"sandbox": str(run.sandbox), "output": run.output, "returncode": run.returncode}
            partial = home / "run.json.partial"
            partial.write_text(json.dumps({**fields, "connections": run.connections}))
            partial.replace(record)  # whole or absent, for a worker killed mid-write
        data = json.loads(record.read_text())
    return DemoRun(Path(data["sandbox"]), data["output"], data["returncode"], data["connections"])
