"""Issue 19.5: a full disk is a transient error (exit 6) that leaves nothing behind.

Each test mounts a tiny tmpfs in a private mount namespace (``unshare -m``, as root) and runs
the real ``modelctl`` inside it; what is left on the full filesystem is listed, or copied out,
before the namespace (and the mount with it) goes away.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from common.sql import open_engine
from tests.support.grading import registry_model, synthetic, write
from tests.support.tiny import tiny_card, tiny_model_bytes

ROOT = Path(__file__).resolve().parent.parent
MODELCTL = Path(sys.executable).with_name("modelctl")
DAYS = (date(2026, 2, 10), date(2026, 2, 12))
MODELS = ("catboost_v9_mae_train1102_0131", "catboost_v12_mae_train1102_0131")


def mount_namespaces() -> str | None:
    """Why a tmpfs cannot be mounted in a private mount namespace here (None: it can)."""
    if not shutil.which("unshare"):
        return "unshare is not installed"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"], capture_output=True)
    return None if probe.returncode == 0 else f"unshare -m / mount not permitted here: {probe.stderr.decode()[:200]}"


pytestmark = pytest.mark.skipif(bool(mount_namespaces()), reason=str(mount_namespaces()))


def on_full_tmpfs(mount: Path, size: str, script: str) -> subprocess.CompletedProcess[str]:
    """``script`` (sh) in a private mount namespace where ``mount`` is a tmpfs of ``size``;
    ``$FILL`` fills what is left of it."""
    mount.mkdir(parents=True, exist_ok=True)
    fill = f"dd if=/dev/zero of={shlex.quote(str(mount / '.filler'))} bs=1k 2>/dev/null; true"
    setup = f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(mount))} && FILL={shlex.quote(fill)} && "
    env = {**os.environ, "PYTHONPATH": str(ROOT), "M": str(MODELCTL)}
    return subprocess.run(["unshare", "-m", "sh", "-c", setup + script], capture_output=True, text=True, env=env)


def test_registering_onto_a_full_bucket_is_transient_and_leaves_nothing(tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    source = tmp_path / "new.cbm"
    source.write_bytes(tiny_model_bytes(tiny_card("v9"), seed=31))
    assert subprocess.run([str(MODELCTL), "migrate"], capture_output=True).returncode == 0
    out = on_full_tmpfs(
        bucket, "64k", f'eval "$FILL"; "$M" register {shlex.quote(str(source))}; echo "rc=$?"; '
        f"rm {shlex.quote(str(bucket / '.filler'))}; find {shlex.quote(str(bucket))} -type f -printf '%P\\n'",
    )  # fmt: skip
    lines = out.stdout.splitlines()
    assert "rc=6" in lines, (out.stdout, out.stderr)
    assert "No space left on device" in out.stderr and "unexpected error" not in out.stderr, out.stderr
    assert [f for f in lines[lines.index("rc=6") + 1 :] if f != ".lock"] == []  # no .tmp-PID, no .meta.json
    listed = subprocess.run([str(MODELCTL), "list", "--json"], capture_output=True, text=True)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    again = subprocess.run([str(MODELCTL), "register", str(source)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr  # with room, the same command succeeds


def test_grading_onto_a_full_registry_disk_is_transient_and_rolled_back(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'registry.duckdb'}"
    store = RegistryStore.open(url)
    store.migrate(datetime.now(UTC))
    registry = RegistryService(store, actor="pytest")
    for model_id in MODELS:
        registry_model(registry, model_id, train_end=date(2026, 1, 31))
    write(store.engine, *synthetic(DAYS[0], 3, 20, {MODELS[0]: (2.0, "champion"), MODELS[1]: (4.0, "shadow")}))
    mount, kept = tmp_path / "full", tmp_path / "after"
    kept.mkdir()
    grade = f'"$M" --registry-url duckdb://{mount}/registry.duckdb grade --date {DAYS[0]} --to {DAYS[1]} --no-advice'
    out = on_full_tmpfs(
        mount, "8m", f"cp {tmp_path}/registry.duckdb {mount}/ && eval \"$FILL\"; {grade}; echo \"rc=$?\"; "
        f"cp {mount}/registry.duckdb* {kept}/",
    )  # fmt: skip
    assert "rc=6" in out.stdout.splitlines(), (out.stdout, out.stderr)
    assert "No space left on device" in out.stderr and "nothing was committed" in out.stderr, out.stderr
    after = open_engine(f"duckdb://{kept / 'registry.duckdb'}")
    graded = "SELECT COUNT(*) AS n FROM {} WHERE game_date BETWEEN @a AND @b"
    for table in ("prediction_accuracy", "model_performance_daily"):
        assert after.query(graded.format(table), {"a": DAYS[0], "b": DAYS[1]}) == [{"n": 0}], table
    assert after.query("SELECT COUNT(*) AS n FROM model_registry WHERE evaluation_as_of IS NOT NULL") == [{"n": 0}]
    regrade = subprocess.run(  # with room, the same command succeeds
        [str(MODELCTL), "--registry-url", url, "grade", "--date", str(DAYS[0]), "--to", str(DAYS[1]), "--no-advice"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert regrade.returncode == 0, regrade.stderr
