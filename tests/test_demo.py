"""``make demo`` runs the whole lifecycle in its own sandbox, whatever the environment says.

Run once per session (it takes about half a minute) with the README's production exports
set, pointed at loopback ports that record any connection: nothing may reach them.
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

from common.app import open_registry
from common.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


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
    env = {**os.environ, **production, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "infra.demo", "--dir", str(sandbox)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    server.close()
    yield DemoRun(sandbox, done.stdout + done.stderr, done.returncode, seen)


@pytest.mark.slow
def test_demo_runs_the_lifecycle_in_its_sandbox_only(demo_run: DemoRun) -> None:
    assert demo_run.returncode == 0, demo_run.output[-3000:]
    assert f"The demo resets {demo_run.sandbox}" in demo_run.output
    assert "Ignoring from your environment: " in demo_run.output and "SLACK_WEBHOOK_URL" in demo_run.output
    assert demo_run.connections == []  # not one byte towards the production endpoints
    assert not (demo_run.sandbox / "stale.txt").exists()
    models = open_registry(demo_run.settings).list()
    assert {m.model_family for m in models} == {"v12_noveg_mae", "v9_mae"}
    assert sum(m.is_champion for m in models) == 1
    assert "Demo finished" in demo_run.output
