"""One Cloud Function as a real functions-framework process on 127.0.0.1, for fault tests.

Started the way the local stack starts it (``infra/local/processes.py``), in its own
session so a test can ``kill -9`` it; its stdout and stderr go to a log file the test
can read (and scan).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from infra.local.processes import ROOT, free_port, function_cmd, function_env, launch, log_tail


@dataclass
class FunctionProcess:
    name: str
    port: int
    log: Path
    popen: subprocess.Popen[bytes]

    @classmethod
    def start(
        cls,
        name: str,
        env: Mapping[str, str],
        workdir: Path,
        timeout: float = 60.0,
        wrap: Sequence[str] = (),
        staged: Path | None = None,
    ) -> FunctionProcess:
        """``wrap``: a command prefix the function runs under (``tests/support/readonly.py``).

        ``staged``: serve that staged folder (``infra/deploy/stage.py``) alone, as Cloud Functions
        does: cwd there, Python without ``site`` (so the venv's editable install of the repo is
        not seen), a PYTHONPATH of the folder and the venv's site-packages, and of the parent's
        environment nothing but what ``env`` gives."""
        port = free_port()
        log = workdir / f"{name}-{port}.log"
        source = (staged or ROOT / "functions" / name) / "main.py"
        base = staged_env(staged) if staged else {}
        full_env = {**(os.environ if staged is None else {}), **function_env(name, name), **base, **env}
        signature = "http" if name in ("predict", "dashboard") else "cloudevent"
        python, *args = function_cmd(name, source, port, signature)
        cmd = [*wrap, python, *(["-S"] if staged else []), *args]
        _, popen = launch(name, cmd, port, log, full_env, staged or ROOT)
        proc = cls(name, port, log, popen)
        proc._wait_ready(timeout)
        return proc

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def deliver(self, event: CloudEvent, timeout: float = 60.0) -> int:
        """POST ``event`` (binary mode, as Eventarc does); the HTTP status."""
        headers, body = to_binary(event)
        request = urllib.request.Request(self.url, data=body, headers=dict(headers), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def kill9(self) -> None:
        """SIGKILL the whole process group: no cleanup, no finally blocks."""
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{log_tail(self.log)}")
            try:
                urllib.request.urlopen(urllib.request.Request(self.url, method="GET"), timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # it answers (a GET on a CloudEvent function is an error, but it is up)
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start in {timeout} s:\n{log_tail(self.log)}")


def staged_env(folder: Path) -> dict[str, str]:
    """What a staged folder runs with besides settings: the folder and the installed packages
    on the path (never the repository), no bytecode written into the folder."""
    paths = dict.fromkeys([str(folder), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(folder.parent),
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
