"""fake-gcs-server alone on 127.0.0.1 (no Pub/Sub: starts in a fraction of a second), and its request log.

fake-gcs-server logs every request it answers, one access-log line each; ``requests()`` reads
them back and ``kind`` sorts them: ``metadata`` (an object's JSON, no bytes), ``download``
(``alt=media``), ``list``, ``upload``, ``bucket`` and ``other``. The idle-worker test and
``bench/bench_idle_worker.py`` count a worker's requests with it.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local.processes import HOST, fake_gcs_binary, free_port, http, kill_group, launch, log_tail

_LINE = re.compile(r'\\?"(GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) HTTP/[\d.]+\\?"')


def kind(method: str, target: str) -> str:
    """What one logged request did, by its method and target."""
    path, _, query = target.partition("?")
    if "alt=media" in query or path.startswith("/download/"):
        return "download"
    if path.startswith("/upload/"):
        return "upload"
    if method == "GET" and re.fullmatch(r"/storage/v1/b/[^/]+/o/.+", path):
        return "metadata"
    if method == "GET" and re.fullmatch(r"/storage/v1/b/[^/]+/o/?", path):
        return "list"
    if path.startswith("/storage/v1/b"):
        return "bucket"
    return "other"


def count_storage_clients(monkeypatch: Any = None) -> list[int]:
    """How many google-cloud-storage clients this process builds from now on (each is still built,
    by the real constructor); through ``monkeypatch`` (undone after the test) when given."""
    from google.cloud import storage

    built = [0]
    real = storage.Client.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built[0] += 1
        real(self, *args, **kwargs)

    if monkeypatch is not None:
        monkeypatch.setattr(storage.Client, "__init__", counting)
    else:
        storage.Client.__init__ = counting
    return built


@dataclass
class FakeGcs:
    url: str
    log: Path

    def requests(self) -> list[tuple[str, str]]:
        """(method, target) of every request answered so far, in order."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [(m.group(1), m.group(2)) for m in _LINE.finditer(text)]

    def kinds(self, since: int = 0) -> Counter[str]:
        """How many requests of each kind, from the ``since``-th on."""
        return Counter(kind(method, target) for method, target in self.requests()[since:])

    def settle(self, seconds: float = 0.3) -> None:
        """Let the server write the lines of requests it has just answered."""
        time.sleep(seconds)


@contextmanager
def fake_gcs(workdir: Path, bucket: str) -> Iterator[FakeGcs]:
    """fake-gcs-server (memory backend) with ``bucket`` created; stopped on the way out."""
    port = free_port()
    log = workdir / "fake-gcs.log"
    url = f"http://{HOST}:{port}"
    cmd = [str(fake_gcs_binary()), "-scheme", "http", "-host", HOST, "-port", str(port),
           "-external-url", url, "-public-host", f"{HOST}:{port}", "-backend", "memory"]  # fmt: skip
    info, popen = launch("fake-gcs", cmd, port, log, {"PATH": "/usr/bin:/bin"}, workdir)
    try:
        server = FakeGcs(url, log)
        deadline = time.monotonic() + 15
        while True:
            try:
                status, _ = http("POST", f"{server.url}/storage/v1/b?project=test", {"name": bucket})
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or popen.poll() is not None:
                raise RuntimeError(f"fake-gcs-server did not start:\n{log_tail(log)}")
            time.sleep(0.05)
        yield server
    finally:
        kill_group(info, popen, grace=2.0)
