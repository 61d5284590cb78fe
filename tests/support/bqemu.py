"""Test harness for the ``bqemulator`` BigQuery emulator (127.0.0.1 only).

The emulator lives in its own venv (``.venv-bqemu``, made by
``tests/support/install_bqemu.sh``) because its pins clash with the
project's (it needs ``sqlglot<30.12``).  It is started as a subprocess
through ``bqemu_launch.py``, which keeps it offline (no DuckDB extension
downloads).

Typical use::

    with start_bqemulator() as emu:
        client = make_client(emu)
        client.create_dataset("ds")
        client.query("SELECT 1").result()
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import http.client
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.cloud import bigquery

BQEMU_VERSION = "1.4.0"
ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = Path(__file__).with_name("bqemu_launch.py")
HOST = "127.0.0.1"

# Seconds a single RPC may be retried (connection errors only, see
# ``make_client``) and the per-HTTP-request timeout.
RPC_RETRY_SECONDS = 5.0
HTTP_TIMEOUT_SECONDS = 30.0


def emulator_venv() -> Path:
    """Directory of the emulator venv (``$BQEMU_VENV`` or ``.venv-bqemu``)."""
    return Path(os.environ.get("BQEMU_VENV") or ROOT / ".venv-bqemu")


def _emulator_python() -> Path:
    return emulator_venv() / "bin" / "python"


@functools.lru_cache(maxsize=1)
def is_available() -> tuple[bool, str]:
    """Tell whether the emulator can be started here, and why not.

    Returns ``(True, description)`` or ``(False, reason)``; the reason is
    written to be used as a pytest skip message.
    """
    if importlib.util.find_spec("google.cloud.bigquery") is None:
        return False, "google-cloud-bigquery is not installed in this interpreter"
    python = _emulator_python()
    if not python.exists():
        return False, (f"bqemulator venv not found at {emulator_venv()}; run: bash tests/support/install_bqemu.sh")
    try:
        proc = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('bqemulator'))"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"cannot run {python}: {exc}"
    version = proc.stdout.strip()
    if proc.returncode != 0:
        return False, f"bqemulator not installed in {emulator_venv()}; run: bash tests/support/install_bqemu.sh"
    if version != BQEMU_VERSION:
        return False, (
            f"bqemulator {version} found, {BQEMU_VERSION} expected; run: bash tests/support/install_bqemu.sh"
        )
    return True, f"bqemulator {version} ({python})"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _ready(port: int) -> bool:
    # http.client ignores *_PROXY variables, so this never leaves loopback.
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(log unreadable: {exc})"


@dataclass
class BqEmulator:
    """A running emulator process (REST on ``host_port``).

    Stop it with :meth:`stop` or use it as a context manager.
    """

    process: subprocess.Popen[bytes]
    host_port: int
    project: str
    log_path: Path
    _workdir: Path | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        """Base URL of the REST API, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.host_port}"

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the emulator's log, for failure messages."""
        return _tail(self.log_path, lines)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the emulator's process group (idempotent)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> BqEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_bqemulator(
    project: str = "test-project",
    log_path: str | None = None,
    startup_timeout: float = 60.0,
) -> BqEmulator:
    """Start an ephemeral (in-memory) emulator on a free 127.0.0.1 port.

    Blocks until ``/readyz`` answers (at most ``startup_timeout`` seconds)
    and raises ``RuntimeError`` with the log tail if it does not.  Without
    ``log_path`` the log goes to a private temp dir removed by ``stop()``.
    """
    ok, why = is_available()
    if not ok:
        raise RuntimeError(why)

    workdir = Path(tempfile.mkdtemp(prefix="bqemu-"))
    log = Path(log_path) if log_path else workdir / "bqemulator.log"
    # Settings come from flags/env below, not the caller's BQEMU_* (the
    # launcher's own BQEMU_LAUNCH_* switches pass through).
    env = {k: v for k, v in os.environ.items() if not k.startswith("BQEMU_") or k.startswith("BQEMU_LAUNCH_")}
    env.update(
        BQEMU_ENABLE_FORMAT_EXTENSIONS="false",  # no avro download
        BQEMU_TRACING_ENABLED="false",
        BQEMU_UPLOAD_STAGING_DIR=str(workdir / "uploads"),
        BQEMU_LAUNCH_PARENT_PID=str(os.getpid()),  # launcher exits when we die
        PYTHONUNBUFFERED="1",
    )
    deadline = time.monotonic() + startup_timeout
    for _attempt in range(3):  # a new port if the free one was taken meanwhile
        emu = _spawn(project, _free_port(), log, workdir, env)
        while emu.process.poll() is None and not _ready(emu.host_port):
            if time.monotonic() > deadline:
                tail = emu.log_tail()
                emu.stop()
                raise RuntimeError(
                    f"bqemulator did not answer on {emu.endpoint} within {startup_timeout:g}s; log tail:\n{tail}"
                )
            time.sleep(0.1)
        if emu.process.poll() is None:
            atexit.register(emu.stop)
            return emu
        tail = emu.log_tail()
        if "address already in use" not in tail:
            break
    emu.stop()
    raise RuntimeError(f"bqemulator exited with code {emu.process.returncode} during startup; log tail:\n{tail}")


def _spawn(project: str, port: int, log: Path, workdir: Path, env: dict[str, str]) -> BqEmulator:
    options = {
        "--rest-host": HOST,
        "--rest-port": str(port),
        "--grpc-host": HOST,
        "--grpc-port": "0",  # unused; the emulator picks a free port
        "--project": project,
        "--log-level": "warning",
        "--log-format": "console",
    }
    cmd = [str(_emulator_python()), str(LAUNCHER), "start", "--ephemeral"]
    cmd += [part for item in options.items() for part in item]
    with open(log, "ab") as log_file:
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            start_new_session=True,  # own process group, see stop()
        )
    return BqEmulator(process, port, project, log, workdir)


def make_client(emu: BqEmulator) -> bigquery.Client:
    """A ``bigquery.Client`` for ``emu`` that never retries for minutes.

    By default google-cloud-bigquery retries each RPC for up to 10 minutes
    (``DEFAULT_RETRY``: 500s, connection errors, ...) and re-runs failed
    query jobs for up to 40 minutes (``DEFAULT_JOB_RETRY``).  The emulator
    answers its own bugs with deterministic 500s (e.g. an unhandled
    ``RAISE`` in a script), so these defaults turn a failing test into a hang.
    Per call you could pass ``retry=``/``job_retry=``/``timeout=`` to
    ``query()`` and ``result()``, but ``result()`` does not inherit the
    ``retry`` given to ``query()``, so the returned client does it centrally:

    * every RPC goes through ``Client._call_api(retry, ...)``; the subclass
      swaps ``DEFAULT_RETRY`` for a retry of connection errors only
      (``RPC_RETRY_SECONDS``; after a 500 the emulator resets the keep-alive
      connection, and the next request needs one retry), caps any other
      retry at that deadline, and gives each HTTP request a timeout;
    * ``query()`` / ``query_and_wait()`` default ``job_retry`` to ``None``
      (a failed job raises at once; ``result()`` reuses the job_retry given
      to ``query()``), and ``query_and_wait()`` defaults ``retry`` to the
      short one (jobs.query applies it around ``_call_api``, not inside);
    * a jobs.query (``query_and_wait``) answer carrying ``errors`` raises, as
      BigQuery does; the emulator would otherwise make a failed query look
      like an empty result. (The launcher's jobs.query patch now makes the
      emulator answer with an HTTP error itself, as BigQuery does, so the
      engine's own plain client sees it too; this check stays for
      ``BQEMU_LAUNCH_JOBS_QUERY=0``.)

    ``result()`` still loops while the emulator says the job is running; a
    hung job is bounded by pytest-timeout, or pass ``result(timeout=...)``.
    The HTTP session ignores ``*_PROXY`` variables, so traffic stays on
    127.0.0.1.
    """
    import requests
    from google.api_core import exceptions as api_exceptions
    from google.api_core import retry as api_retry
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery
    from google.cloud.bigquery.job.base import _error_result_to_exception
    from google.cloud.bigquery.retry import DEFAULT_RETRY

    rpc_retry = api_retry.Retry(
        predicate=api_retry.if_exception_type(
            ConnectionError,
            requests.exceptions.ConnectionError,
            api_exceptions.ServiceUnavailable,
        ),
        initial=0.05,
        maximum=0.5,
        timeout=RPC_RETRY_SECONDS,
    )

    class _EmulatorClient(bigquery.Client):
        def _call_api(self, retry: Any, *args: Any, **kwargs: Any) -> Any:
            if retry is DEFAULT_RETRY:
                retry = rpc_retry
            elif retry is not None and (retry.timeout is None or retry.timeout > RPC_RETRY_SECONDS):
                retry = retry.with_timeout(RPC_RETRY_SECONDS)
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = HTTP_TIMEOUT_SECONDS
            response = super()._call_api(retry, *args, **kwargs)
            if (
                kwargs.get("method") == "POST"
                and str(kwargs.get("path", "")).endswith("/queries")
                and isinstance(response, dict)
                and response.get("errors")
            ):
                # jobs.query: BigQuery answers a failed query with an HTTP
                # error; the emulator answers 200 + "errors", which the
                # client ignores (query_and_wait would return no rows).
                errors = response["errors"]
                raise _error_result_to_exception(errors[0], errors)
            return response

        def query(self, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("job_retry", None)
            return super().query(*args, **kwargs)

        def query_and_wait(self, *args: Any, **kwargs: Any) -> Any:
            # jobs.query wraps ``retry`` around _call_api itself.
            kwargs.setdefault("retry", rpc_retry)
            kwargs.setdefault("job_retry", None)
            return super().query_and_wait(*args, **kwargs)

    session = requests.Session()
    session.trust_env = False  # ignore HTTP(S)_PROXY / .netrc
    return _EmulatorClient(
        project=emu.project,
        credentials=AnonymousCredentials(),
        _http=session,
        client_options={"api_endpoint": emu.endpoint},
    )
