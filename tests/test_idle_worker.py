"""An idle worker on fake-gcs-server: one metadata request per poll, no download, no client built.

The requests are counted from fake-gcs-server's own request log (``tests/support/gcs.py``), the
clients from the worker's runtime and from google-cloud-storage's constructor.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.app import open_registry
from common.manifest import MANIFEST_OBJECT, Manifest
from common.settings import Settings
from common.storage import FileBucket, StoredObject
from common.worker.sources import ManifestWatch
from common.worker.worker import Worker
from tests.support.gcs import FakeGcs, count_storage_clients, fake_gcs
from tests.support.serving import serving_registry
from tests.support.tiny import tiny_card

pytestmark = pytest.mark.emulator
POLL = 0.1
MODELS = {"champion": (tiny_card("v9"), 1), "shadow": (tiny_card("v9", "Quantile", 0.43), 2)}


@pytest.fixture
def stack_settings(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeGcs, Settings]]:
    with fake_gcs(isolated_env, "idle-models") as server:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
        monkeypatch.setenv("MODEL_BUCKET_URL", "gs://idle-models")
        yield server, Settings.from_env()


def test_an_idle_worker_makes_one_metadata_request_per_poll_and_builds_no_client(
    stack_settings: tuple[FakeGcs, Settings], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, settings = stack_settings
    ids = serving_registry(settings, None, MODELS)
    clients = count_storage_clients(monkeypatch)  # the registration built the runtime's one client
    worker = Worker(settings, cache_dir=tmp_path / "cache", fuse=False)
    worker.reload()  # the manifest and both models downloaded on that client
    assert len(worker.current.models) == 2 and worker.current.source == "manifest"
    assert clients[0] == 0
    built = worker.runtime.built
    ticks = [0]  # the poller's own count: a request is made inside a tick, so requests <= ticks
    real_tick = worker.poll_once

    def counted() -> None:
        ticks[0] += 1
        real_tick()

    monkeypatch.setattr(worker, "poll_once", counted)
    server.settle()
    start = len(server.requests())
    worker.start_polling(POLL)
    try:
        time.sleep(2.0)
        server.settle()  # every request of the ticks so far is in the log (read the count after it)
        idle, polls = server.kinds(since=start), ticks[0]
        assert set(idle) == {"metadata"}, idle  # no download, no list, nothing else
        assert polls >= 0.5 * 2.0 / POLL and idle["metadata"] <= polls, (idle, polls)  # at most one per poll
        assert clients[0] == 0 and worker.runtime.built == built  # no client built after the start

        # the manifest moves (a shadow disabled): the worker follows, then is idle again
        before = len(server.requests())
        open_registry(settings).disable(ids["shadow"])
        deadline = time.monotonic() + 10
        while len(worker.current.models) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(worker.current.models) == 1
        server.settle()
        moved = server.kinds(since=before)
        assert moved["upload"] == 1 and 1 <= moved["download"] <= 3, moved  # the rebuild's read, the worker's
        server.settle()
        mark, ticked = len(server.requests()), ticks[0]
        time.sleep(1.0)
        server.settle()
        idle = server.kinds(since=mark)  # + 1: the tick in flight at the mark
        assert set(idle) == {"metadata"} and idle["metadata"] <= ticks[0] - ticked + 1, (idle, ticks[0] - ticked)
        assert clients[0] == 0 and worker.runtime.built == built
    finally:
        worker.stop()


def test_the_watch_stats_a_folder_bucket_and_reads_only_a_rewritten_manifest(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = FileBucket(f"file://{isolated_env / 'watched'}")
    reads: list[str] = []
    real = FileBucket.read

    def counting(self: FileBucket, name: str, max_bytes: int | None = None) -> tuple[bytes, StoredObject]:
        reads.append(name)
        return real(self, name, max_bytes)

    monkeypatch.setattr(FileBucket, "read", counting)
    watch = ManifestWatch(lambda: bucket)
    assert watch.current() is None and reads == []  # none written yet: a stat, nothing read
    for generation in (1, 2, 3):  # rewrites quicker than the file system's timestamp tick, too
        bucket.write(MANIFEST_OBJECT, _manifest(generation).to_json().encode())
        for _ in range(20):
            found = watch.current()
            assert found is not None and found.generation == generation
        assert reads == [MANIFEST_OBJECT] * generation
    bucket.write(MANIFEST_OBJECT, b"{not json")
    assert [watch.current(), watch.current()] == [None, None]
    assert len(reads) == 4  # a malformed manifest is not read again until it is rewritten


def _manifest(generation: int) -> Manifest:
    return Manifest(generation, None, (), "2026-01-01T00:00:00+00:00", "test")
