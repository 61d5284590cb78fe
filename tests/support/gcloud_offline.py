"""Ask the installed gcloud whether it accepts commands — offline and without credentials.

Every command runs under ``unshare -n`` (a network namespace with loopback only) with a
throw-away ``CLOUDSDK_CONFIG`` and no credentials, so nothing can reach Google or a
metadata server. A command gcloud can parse fails with "You do not currently have an
active account selected"; a mistyped one fails earlier with an argument error.

``run_offline`` uses one warm gcloud forking per command (``gcloud_batch.py``), and
falls back to one ``gcloud`` process per command if that cannot start.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

BATCH = Path(__file__).with_name("gcloud_batch.py")
CREDENTIALS = re.compile(r"You do not currently have an active account selected")
PARSE_ERROR = re.compile(
    r"unrecognized arguments|Invalid choice|argument [-\w]+: |expected one argument|"
    r"Bad value|is not a valid|must be specified|Missing required argument|not allowed"
)


@dataclass(frozen=True)
class Outcome:
    argv: tuple[str, ...]
    returncode: int
    output: str
    seconds: float

    @property
    def verdict(self) -> str:
        """``credentials`` (parsed, then stopped for want of an account), ``parse`` or ``other``."""
        first = self.output.strip().splitlines()[0] if self.output.strip() else ""
        if self.returncode != 0 and CREDENTIALS.search(self.output) and not PARSE_ERROR.search(first):
            return "credentials"
        return "parse" if PARSE_ERROR.search(self.output) else "other"


def unavailable() -> str:
    """Why the check cannot run here ("" when it can)."""
    if not shutil.which("gcloud"):
        return "gcloud is not installed"
    if not shutil.which("unshare"):
        return "unshare is not installed"
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        return "unshare -n is not permitted here (needs root or user namespaces)"
    return ""


def _env(config: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(config),
        "LANG": "C.UTF-8",
        "CLOUDSDK_CONFIG": str(config),
        "CLOUDSDK_CORE_CHECK_GCE_METADATA": "false",
        "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _quiet(argv: Sequence[str]) -> tuple[str, ...]:
    return tuple(argv) if "--quiet" in argv else (*argv, "--quiet")


def one(argv: Sequence[str], config: Path) -> Outcome:
    """One command through the ``gcloud`` script itself."""
    started = time.monotonic()
    proc = subprocess.run(
        ["unshare", "-n", *_quiet(argv)],
        env=_env(config),
        input="https://hooks.slack.com/x",  # for --data-file=-
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Outcome(tuple(argv), proc.returncode, proc.stderr + proc.stdout, time.monotonic() - started)


def _sdk() -> tuple[str, Path]:
    """gcloud's Python (as its launcher picks it) and its lib/ folder."""
    root = Path(shutil.which("gcloud") or "gcloud").resolve().parent.parent
    bundled = root / "platform" / "bundledpythonunix" / "bin" / "python"
    python = os.environ.get("CLOUDSDK_PYTHON") or (str(bundled) if bundled.exists() else "python3")
    return python, root / "lib"


def batch(commands: Sequence[Sequence[str]], config: Path, workers: int) -> list[Outcome]:
    python, lib = _sdk()
    proc = subprocess.run(
        ["unshare", "-n", python, str(BATCH), str(lib), str(workers)],
        env=_env(config),
        input=json.dumps([list(_quiet(a)) for a in commands]),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"gcloud batch failed: {proc.stderr.strip()[-400:]}")
    rows = json.loads(proc.stdout)
    return [Outcome(tuple(a), code, text, secs) for (_, code, text, secs), a in zip(rows, commands, strict=True)]


def run_offline(commands: Sequence[Sequence[str]], config: Path, workers: int = 4) -> tuple[list[Outcome], str]:
    """Outcomes in order, and how they were obtained ("batch" or "one by one")."""
    try:
        return batch(commands, config, workers), "batch"
    except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda a: one(a, config), commands)), "one by one"
