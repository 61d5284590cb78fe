"""A worker recovers when the champion's file comes back (issue 19, section 3).

A real ``predict`` process (functions-framework, ``tests/support/fnproc.py``) starts while the
champion's ``.cbm`` is corrupt in the bucket and absent from its cache: it answers 503. The
file is restored and nothing else changes (same manifest generation, no registry change): the
worker loads it on its retry schedule (``WORKER_RETRY_SECONDS``, 30 s by default; 1 s here).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from common.manifest import MANIFEST_OBJECT, Manifest
from common.settings import Settings
from tests.support.fnproc import FunctionProcess
from tests.test_predict import DAY, registry, season  # noqa: F401  (fixtures)

RETRY = 1.0


def call(fn: FunctionProcess, method: str, path: str = "", body: Any = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{fn.url}{path}", data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read())


def test_a_worker_started_without_its_champions_file_recovers_when_it_comes_back(
    registry: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = Settings.from_env()
    bucket = Path(settings.bucket_url.removeprefix("file://"))
    champion_file = bucket / "models" / "champion.cbm"
    good = champion_file.read_bytes()
    champion_file.write_bytes(b"not a catboost model" + good[:100])  # corrupt in the bucket
    cache = tmp_path / "fresh-cache"  # and absent from the cache
    generation = Manifest.from_json((bucket / MANIFEST_OBJECT).read_bytes()).generation
    env = {"MODEL_CACHE_DIR": str(cache), "MANIFEST_POLL_SECONDS": "0.1", "WORKER_RETRY_SECONDS": str(RETRY)}
    fn = FunctionProcess.start("predict", env, tmp_path)
    try:
        code, status = call(fn, "GET", "status")
        assert code == 200 and status["champion"] is None and status["generation"] == generation
        assert f"champion {registry['champion']} could not be loaded" in status["problem"]
        code, answer = call(fn, "POST", "", {"game_date": DAY.isoformat()})
        assert code == 503 and "no champion loaded" in answer["error"]
        time.sleep(2.5 * RETRY)  # still corrupt: retried, still refused, still answering
        assert call(fn, "GET", "status")[1]["champion"] is None

        restored = champion_file.with_name(".restore.tmp")
        restored.write_bytes(good)
        restored.replace(champion_file)  # the file comes back; the manifest does not change
        started = time.monotonic()
        while (status := call(fn, "GET", "status")[1])["champion"] is None:
            assert time.monotonic() - started < 5 * RETRY + 5, status
            time.sleep(0.1)
        assert status["champion"] == registry["champion"] and status["problem"] is None
        assert status["generation"] == generation and set(status["models"]) == set(registry.values())
        code, answer = call(fn, "POST", "", {"game_date": DAY.isoformat()})
        assert code == 200 and answer["champion"] == registry["champion"] and answer["rows"] > 0
        assert fn.output().count("retrying what failed to load") >= 2  # on the schedule, not once
    finally:
        fn.stop()
