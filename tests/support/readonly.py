"""A read-only folder, for real: a read-only bind mount in a private mount namespace.

``readonly(path)`` is a command prefix: what follows it runs under ``unshare -m`` (a mount
namespace of its own, private propagation: nothing leaks to the host) in which ``path`` is
bind-mounted onto itself read-only, so every write under it fails with EROFS exactly as on
a read-only bucket mount, while every other process (this test included) still writes there.
``writable_again(pid, path)`` remounts it read-write inside that process's namespace: the
bucket "comes back" without restarting the process.

Needs root (CAP_SYS_ADMIN), which the test machines and CI have; ``available()`` says why not.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

_MOUNT_THEN_EXEC = 'mount --bind -o ro "$0" "$0" && exec "$@"'


def readonly(path: Path) -> list[str]:
    """The prefix that runs a command with ``path`` read-only in a private mount namespace."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _MOUNT_THEN_EXEC, str(path)]


def run_readonly(path: Path, argv: Sequence[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*readonly(path), *argv], capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]


def writable_again(pid: int, path: Path) -> None:
    """Remount ``path`` read-write in the mount namespace of process ``pid``."""
    subprocess.run(["nsenter", "-t", str(pid), "-m", "mount", "-o", "remount,rw,bind", str(path)], check=True)


def available() -> tuple[bool, str]:
    """Whether this machine lets us make a read-only bind mount in a private namespace."""
    for tool in ("unshare", "nsenter", "mount"):
        if shutil.which(tool) is None:
            return False, f"{tool} is not installed"
    with tempfile.TemporaryDirectory() as folder:
        probe = f'touch "{folder}/probe" 2>/dev/null && exit 3 || exit 0'
        done = subprocess.run([*readonly(Path(folder)), "sh", "-c", probe], capture_output=True, text=True)
        if done.returncode != 0:
            return False, f"no read-only bind mount in a private mount namespace here: {done.stderr.strip()[:200]}"
        if Path(folder, "probe").exists():
            return False, "the read-only mount leaked out of its namespace"
    return True, ""
