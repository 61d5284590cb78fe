"""``modelctl watch`` never dies (issue 11.4).

A bad file is rejected and the next one registered; a registry that is not there yet,
or held by another process for longer than the engine waits (15 s), is logged and
retried with backoff while the watcher goes on. The long-running cases run the real
``modelctl`` as a process and hold the DuckDB lock from another real process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from common.app import open_registry
from common.cli.main import main
from common.settings import Settings
from common.storage import FileBucket
from tests.support.tiny import tiny_card, tiny_model_bytes

MODELCTL = Path(sys.executable).with_name("modelctl")
LOCK_WAIT_SECONDS = 2.0  # the watcher's registry URL says so (`?lock_wait=`); the default is 15 s
HOLD_LOCK = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.readline()  # held until the test has seen the watcher give up waiting (or the test ends)
con.close()
print("released", flush=True)
"""


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def model_ids(settings: Settings) -> list[str]:
    try:
        return sorted(m.model_id for m in open_registry(settings).list())
    except Exception:  # noqa: BLE001 - the watcher may hold the file for a moment
        return []


@pytest.fixture
def bucket(isolated_env: Path) -> FileBucket:
    return FileBucket(Settings.from_env().bucket_url)


@pytest.fixture
def watch(isolated_env: Path) -> Iterator[subprocess.Popen[str]]:
    """``modelctl -v watch`` running as its own process (logs to a file)."""
    log = (isolated_env / "watch.log").open("w")
    proc = subprocess.Popen(
        [str(MODELCTL), "-v", "watch", "--interval", "0.2"],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "MODEL_REGISTRY_URL": f"{os.environ['MODEL_REGISTRY_URL']}?lock_wait={LOCK_WAIT_SECONDS:g}"},
    )
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()


def test_a_bad_file_is_rejected_and_the_next_one_registered(
    bucket: FileBucket, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    bucket.write("models/a_corrupt.cbm", b"\x00not a model")
    bucket.write("models/b_nan.cbm", tiny_model_bytes(tiny_card("v9", backtest_n_edge_3plus="nan"), seed=91))
    bucket.write("models/c_good.cbm", tiny_model_bytes(tiny_card("v9"), seed=92))
    capsys.readouterr()
    assert main(["watch", "--once"]) == 0
    out = capsys.readouterr().out
    assert "a_corrupt.cbm: rejected" in out and "b_nan.cbm: rejected" in out
    assert "c_good.cbm: registered:catboost_v9_mae_train1102_0215" in out
    registry = open_registry(Settings.from_env())
    assert len(registry.rejections()) == 2 and [m.model_id for m in registry.list()] == [
        "catboost_v9_mae_train1102_0215"
    ]


def test_once_reports_a_retryable_failure_with_its_exit_code(
    bucket: FileBucket, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket.write("models/good.cbm", tiny_model_bytes(tiny_card("v9"), seed=93))
    assert main(["watch", "--once"]) == 5  # no registry yet: ConfigError, left for the next run
    err = capsys.readouterr().err
    assert "1 file(s) not delivered, run again later" in err and "run `modelctl migrate`" in err
    assert main(["migrate"]) == 0 and main(["watch", "--once"]) == 0
    assert model_ids(Settings.from_env()) == ["catboost_v9_mae_train1102_0215"]


def test_watch_outlives_a_missing_registry(
    isolated_env: Path, bucket: FileBucket, watch: subprocess.Popen[str]
) -> None:
    settings = Settings.from_env()
    bucket.write("models/first.cbm", tiny_model_bytes(tiny_card("v9"), seed=94))
    log = isolated_env / "watch.log"
    wait_for(lambda: "attempt 1 failed" in log.read_text(), 60, "a logged, retried failure")
    assert watch.poll() is None
    assert main(["migrate"]) == 0
    wait_for(lambda: len(model_ids(settings)) == 1, 60, "the first file to register after migrate")
    bucket.write("models/second.cbm", tiny_model_bytes(tiny_card("v12"), seed=95))
    wait_for(lambda: len(model_ids(settings)) == 2, 60, "the next file")
    assert watch.poll() is None, log.read_text()


def test_watch_outlives_a_registry_locked_by_another_process(
    isolated_env: Path, bucket: FileBucket, watch: subprocess.Popen[str]
) -> None:
    assert main(["migrate"]) == 0
    settings = Settings.from_env()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(isolated_env / "registry.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdin is not None and holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        bucket.write("models/first.cbm", tiny_model_bytes(tiny_card("v9"), seed=96))
        log = isolated_env / "watch.log"
        wait_for(lambda: "attempt 1 failed" in log.read_text(), LOCK_WAIT_SECONDS + 30, "the lock to time out")
        assert "is busy" in log.read_text() and watch.poll() is None
        assert time.monotonic() - started >= LOCK_WAIT_SECONDS  # it waited for the lock, then gave up
        holder.stdin.write("release\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
    finally:
        holder.kill()
        holder.wait(timeout=10)
    wait_for(lambda: len(model_ids(settings)) == 1, 60, "the file to register once the lock is gone")
    bucket.write("models/second.cbm", tiny_model_bytes(tiny_card("v12"), seed=97))
    wait_for(lambda: len(model_ids(settings)) == 2, 60, "the next file")
    assert watch.poll() is None
