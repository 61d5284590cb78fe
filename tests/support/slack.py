"""A local Slack incoming-webhook stand-in on 127.0.0.1.

It answers each POST from a script of responses (status, headers), then 200s; it can
hang (hold the request open without answering) to play a Slack that never replies.
Every request is recorded with its arrival time; ``posts`` are the bodies it accepted
(answered 200), which is what a Slack channel would show.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = -1  # a scripted "status" that never answers


@dataclass
class Request:
    at: float  # time.monotonic() on arrival
    body: dict[str, Any]
    raw: bytes = b""  # the body as sent, byte for byte
    answered: int | None = None


@dataclass
class SlackStub:
    """The stand-in. ``failures`` is a shorthand for that many leading 500s."""

    failures: int = 0
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.script = [(500, {})] * self.failures + list(self.script)
        self._released = threading.Event()
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                stub._handle(self)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0001/B0001/s3cr3tT0ken"

    @property
    def posts(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.answered == 200]

    def respond(self, responses: Iterable[tuple[int, dict[str, str]]]) -> None:
        """Script the next answers (after any still queued)."""
        with self._lock:
            self.script.extend(responses)

    def wait_for_requests(self, n: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"Slack stand-in got {len(self.requests)} requests, expected {n}")
            time.sleep(0.02)

    def close(self) -> None:
        self._released.set()  # let hanging requests go
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers["Content-Length"]))
        request = Request(time.monotonic(), json.loads(raw), raw)
        with self._lock:
            self.requests.append(request)
            status, headers = self.script.pop(0) if self.script else (200, {})
        if status == HANG:
            self._released.wait()
            return
        request.answered = status
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        payload = b"ok" if status == 200 else b"no_service" if status == 404 else b"error"
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
