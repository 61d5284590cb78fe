"""``modelctl`` run inside the test process: its own ``main`` (parsing, settings, handler, exit code,
stdout and stderr), without a new interpreter's start and imports (about a second a call).

For the calls whose subject is the command's answer. A test about the process itself (a signal, a
kill mid-write, the exit status a shell sees) runs the real ``modelctl`` executable instead.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from unittest import mock

from common.cli import main as cli_main


def modelctl_here(*args: str) -> subprocess.CompletedProcess[str]:
    """``modelctl ARGS`` in this process, answered as ``subprocess.run`` would answer it."""
    out, err = io.StringIO(), io.StringIO()
    # main sets the root logger up for a process; here it stays pytest's (caplog keeps working)
    with mock.patch.object(cli_main, "setup_logging"), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main.main(list(args))
        except SystemExit as exc:  # argparse's usage errors exit from inside parse_args
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
