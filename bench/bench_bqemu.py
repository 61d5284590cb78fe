"""The BigQuery engine on the emulator: jobs.query against jobs.insert, the launcher's SQL caches or not.

Run: .venv/bin/python bench/bench_bqemu.py [--quick]   (needs .venv-bqemu: tests/support/install_bqemu.sh)

One bqemulator (tests/support/bqemu.py, 127.0.0.1 only) runs the suite's typical BigQuery work
through the real engine (``common/sql_bigquery.py``): a registry dataset copied from a migrated
template, two models registered and promoted, the hand fixture of tests/test_grading.py written
(load jobs) and graded, the registry listed. The same work is sent two ways, alternated, in one
run: ``jobs.query`` (``query_and_wait``, what the engine does) and ``jobs.insert`` then poll and
read (``query`` + ``result``, what it did before), each on an emulator with the launcher's parse
and translation caches (tests/support/bqemu_launch.py) and on one without. Printed per case: wall seconds, the
emulator's CPU seconds (from /proc), HTTP requests, and the ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.grading.catalog import load_catalog  # noqa: E402
from common.grading.service import grade_dates  # noqa: E402
from common.registry.service import RegistryService  # noqa: E402
from common.registry.store import RegistryStore  # noqa: E402
from common.sql_bigquery import QUERY_TIMEOUT_SECONDS, BigQueryEngine, job_options  # noqa: E402
from tests.support.bqemu import BqEmulator, is_available, start_bqemulator  # noqa: E402
from tests.support.bqtemplate import MigratedTemplate, url_of  # noqa: E402
from tests.test_grading import D1, D2, NOW, hand_fixture  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_by_insert(self: BigQueryEngine, sql: str, params: Any, maximum_bytes_billed: int | None = None) -> Any:
    """The engine's statement before jobs.query: jobs.insert, then ``result()`` polls and reads."""
    from google.cloud import bigquery

    options = job_options()
    config = bigquery.QueryJobConfig(
        query_parameters=self._params(params),
        default_dataset=f"{self.project}.{self.dataset}",
        maximum_bytes_billed=maximum_bytes_billed or options.maximum_bytes_billed,
        labels=options.labels,
    )
    job = self.client.query(sql, job_config=config, **self._retries())
    rows = job.result(timeout=QUERY_TIMEOUT_SECONDS, retry=self._retries()["retry"])
    return [dict(row.items()) for row in rows]


def workload(emu: BqEmulator, template: MigratedTemplate) -> int:
    """The suite's typical emulator work on a fresh copy of ``template``; returns the models listed."""
    url = url_of(emu, f"bench_{uuid.uuid4().hex[:10]}")
    template.copy_to(url)
    store = RegistryStore.open(url)
    try:
        store.migrate(NOW)  # up to date: reads the migration records
        registry = RegistryService(store, actor="bench")
        grading = hand_fixture(registry)
        grade_dates(grading, load_catalog(registry.list), [D1, D2], NOW)
        return len(registry.list())
    finally:
        store.close()


def measure(
    emu: BqEmulator, template: MigratedTemplate, way: Callable[..., Any], rounds: int
) -> tuple[float, float, int]:
    import requests

    original, send = BigQueryEngine._run, requests.Session.send
    sent: list[str] = []

    def counted(session: Any, request: Any, **kwargs: Any) -> Any:
        sent.append(request.url)
        return send(session, request, **kwargs)

    BigQueryEngine._run = way  # type: ignore[method-assign]
    requests.Session.send = counted  # type: ignore[method-assign]
    try:
        cpu, wall = cpu_seconds(emu.process.pid), time.perf_counter()
        for _ in range(rounds):
            assert workload(emu, template) == 2
        return time.perf_counter() - wall, cpu_seconds(emu.process.pid) - cpu, len(sent)
    finally:
        BigQueryEngine._run = original  # type: ignore[method-assign]
        requests.Session.send = send  # type: ignore[method-assign]


CACHE_SWITCHES = ("BQEMU_LAUNCH_PARSE_CACHE", "BQEMU_LAUNCH_TRANSLATE_CACHE")


def emulator(caches: bool) -> BqEmulator:
    """An emulator with the launcher's parse and translation caches on or off (its other patches on)."""
    os.environ.update(dict.fromkeys(CACHE_SWITCHES, "1" if caches else "0"))
    try:
        return start_bqemulator()
    finally:
        for name in CACHE_SWITCHES:
            del os.environ[name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help="one round per way instead of three")
    args = parser.parse_args()
    rounds = 1 if args.quick else 3
    ok, why = is_available()
    if not ok:
        print(f"skipped: {why}")
        return
    print(f"load average {os.getloadavg()[0]:.2f}; {rounds} round(s) of the workload per case, alternated")
    ways = {"jobs.query": BigQueryEngine._run, "jobs.insert": run_by_insert}
    caches = {"caches": True, "no caches": False}
    totals = {(c, w): [0.0, 0.0, 0] for c in caches for w in ways}
    emulators = {name: emulator(on) for name, on in caches.items()}
    try:
        templates = {name: MigratedTemplate.build(emu) for name, emu in emulators.items()}
        for name, emu in emulators.items():
            measure(emu, templates[name], BigQueryEngine._run, 1)  # warm: imports, first plans, the cache
        for _ in range(2):
            for cache, emu in emulators.items():
                for way_name, way in ways.items():
                    for i, figure in enumerate(measure(emu, templates[cache], way, rounds)):
                        totals[cache, way_name][i] += figure
    finally:
        for emu in emulators.values():
            emu.stop()
    for (cache, way), (wall, cpu, requests) in totals.items():
        print(f"{way:12} {cache:9} wall {wall:6.2f} s  emulator CPU {cpu:6.2f} s  HTTP requests {requests}")
    now, before = totals["caches", "jobs.query"], totals["no caches", "jobs.insert"]
    for label, (a, b) in {
        "jobs.query / jobs.insert (caches)": (
            totals["caches", "jobs.query"],
            totals["caches", "jobs.insert"],
        ),
        "caches / none (jobs.query)": (now, totals["no caches", "jobs.query"]),
        "both / neither": (now, before),
    }.items():
        print(f"{label}: wall {a[0] / b[0]:.2f}x, emulator CPU {a[1] / b[1]:.2f}x, requests {a[2] / b[2]:.2f}x")


if __name__ == "__main__":
    main()
