"""Helpers for tests that drive the local emulator stack (infra/local/stack.py).

The dummy functions in ``tests/support/stack_functions/main.py`` append every
CloudEvent they receive to a JSON-lines file; these helpers read and wait on
that file, and build real Google clients pointed at the stack.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from google.auth.credentials import AnonymousCredentials

FUNCTIONS_DIR = Path(__file__).resolve().parent / "stack_functions"

Record = dict[str, Any]


def read_events(path: Path) -> list[Record]:
    """Every record written so far (empty if the file does not exist yet)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def wait_for_events(path: Path, match: Callable[[Record], bool], count: int = 1, timeout: float = 20.0) -> list[Record]:
    """Poll until at least ``count`` records satisfy ``match``; return those records.

    Raises AssertionError listing what *did* arrive when the wait runs out.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = [record for record in read_events(path) if match(record)]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            seen = [(r.get("function"), r.get("type"), r.get("subject"), r.get("id")) for r in read_events(path)]
            raise AssertionError(f"wanted {count} matching events within {timeout}s, got {len(found)}; seen: {seen}")
        time.sleep(0.1)


def storage_client(env: Mapping[str, str]) -> Any:
    """google-cloud-storage client on the stack's fake-gcs-server."""
    from google.cloud import storage

    return storage.Client(
        project=env["GOOGLE_CLOUD_PROJECT"],
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": env["STORAGE_EMULATOR_HOST"]},
    )


def publish(env: Mapping[str, str], topic: str, data: bytes, **attributes: str) -> str:
    """Publish one message to the stack's Pub/Sub emulator; return its message id."""
    from google.cloud import pubsub_v1

    # The client reads PUBSUB_EMULATOR_HOST once, when it is built.
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = env["PUBSUB_EMULATOR_HOST"]
    try:
        publisher = pubsub_v1.PublisherClient()
    finally:
        if previous is None:
            del os.environ["PUBSUB_EMULATOR_HOST"]
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous
    try:
        path = publisher.topic_path(env["GOOGLE_CLOUD_PROJECT"], topic)
        return str(publisher.publish(path, data, **attributes).result(timeout=30))
    finally:
        publisher.transport.close()
