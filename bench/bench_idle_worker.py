"""Idle prediction worker on fake-gcs-server: storage requests per minute, counted from the server's log.

A worker serving two models from a ``gs://`` bucket on fake-gcs-server (the emulator stack's
storage; nothing leaves 127.0.0.1) polls the serving manifest at the deployed interval and
compares it with the registry every REGISTRY_CHECK_SECONDS; nothing changes meanwhile. Every
request fake-gcs-server answers is one line of its log (``tests/support/gcs.py`` sorts them by
kind). The same is then measured for the poller before the runtime (a new storage client and a
whole-manifest download on every tick: ``read_manifest(open_bucket(url))``), for the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from common.settings import Settings
    from tests.support.gcs import FakeGcs

DEPLOYED_POLL = 1.0  # MANIFEST_POLL_SECONDS in infra/deploy/functions.py


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/bench_idle_worker.py",
        description=__doc__.splitlines()[0],
        epilog="Full run: about 4 minutes, mostly idle. `make bench` runs it with --quick.",
        allow_abbrev=False,
    )
    parser.add_argument("--quick", action="store_true", help="15 s per measure, not 120 s (a check that it runs)")
    parser.add_argument("--poll", type=float, default=DEPLOYED_POLL, help="MANIFEST_POLL_SECONDS (default 1: deployed)")
    parser.add_argument("--seconds", type=float, default=None, help="idle seconds per measure (default 120; quick 15)")
    return parser.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.poll <= 0 or (args.seconds is not None and args.seconds <= 0):
        raise SystemExit("bench_idle_worker: --poll and --seconds must be positive")
    from infra.local.processes import StackError, fake_gcs_binary, raise_on_termination

    raise_on_termination()  # SIGTERM / SIGHUP unwind through the finally below, as Ctrl-C does
    try:
        fake_gcs_binary()
    except (StackError, RuntimeError) as exc:
        raise SystemExit(f"bench_idle_worker: {exc}") from None
    seconds = args.seconds or (15.0 if args.quick else 120.0)
    workdir = Path(tempfile.mkdtemp(prefix="bench-idle-worker-"))
    try:
        run(workdir, args.poll, seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(workdir: Path, poll: float, seconds: float) -> None:
    from common.runtime import runtime_for
    from common.settings import Settings
    from common.worker.worker import Worker
    from tests.support.gcs import count_storage_clients, fake_gcs
    from tests.support.serving import serving_registry
    from tests.support.tiny import tiny_card

    with fake_gcs(workdir, "bench-models") as server:
        os.environ.update({"STORAGE_EMULATOR_HOST": server.url, "MODEL_BUCKET_URL": "gs://bench-models",
                           "MODEL_REGISTRY_URL": f"duckdb://{workdir / 'registry.duckdb'}",
                           "MODEL_CACHE_DIR": str(workdir / "cache"),
                           "MODELCTL_ACTOR": "bench-idle-worker"})  # fmt: skip
        settings = Settings.from_env()
        models = {"champion": (tiny_card("v9"), 1), "shadow": (tiny_card("v9", "Quantile", 0.43), 2)}
        serving_registry(settings, None, models)
        worker = Worker(settings, fuse=False)
        worker.reload()
        built = runtime_for(settings).built
        clients = count_storage_clients()
        worker.start_polling(poll)
        try:
            now = _idle(server, seconds)
        finally:
            worker.stop()
        now_clients, now_built = clients[0], runtime_for(settings).built - built
        before = _idle(server, seconds, old_poller(settings, poll))
        before_clients = clients[0] - now_clients
    per_minute = 60.0 / seconds
    print(f"idle worker on fake-gcs-server, poll every {poll:g} s, registry check every "
          f"{settings.registry_check_seconds:g} s, {seconds:g} s per measure ({_load()}):")  # fmt: skip
    for name, counts, built_clients in (("now", now, now_clients), ("before", before, before_clients)):
        kinds = ", ".join(f"{k} {v * per_minute:.1f}" for k, v in sorted(counts.items()))
        print(f"  {name:<7} {sum(counts.values()) * per_minute:6.1f} requests/min ({kinds}); "
              f"{built_clients * per_minute:.1f} storage clients built/min")  # fmt: skip
    print(f"  runtime clients built after the start: {now_built}")
    total_now, total_before = sum(now.values()), sum(before.values())
    if total_now:
        print(f"  ratio before/now: {total_before / total_now:.2f}x requests")


def _idle(server: FakeGcs, seconds: float, loop: Callable[[threading.Event], None] | None = None) -> Counter[str]:
    """Requests by kind while idling ``seconds`` (running ``loop``'s thread, if given, meanwhile)."""
    server.settle()
    start = len(server.requests())
    stop = threading.Event()
    thread = threading.Thread(target=loop, args=(stop,), daemon=True) if loop else None
    if thread:
        thread.start()
    time.sleep(seconds)
    stop.set()
    if thread:
        thread.join(5)
    server.settle()
    return server.kinds(since=start)


def old_poller(settings: Settings, poll: float) -> Callable[[threading.Event], None]:
    """The poller before the runtime: ``current_manifest`` built a bucket (and so a storage client)
    and downloaded the whole manifest on every tick."""
    from common.manifest import read_manifest
    from common.storage import open_bucket

    def loop(stop: threading.Event) -> None:
        while not stop.wait(poll):
            read_manifest(open_bucket(settings.bucket_url))

    return loop


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


if __name__ == "__main__":
    main()
