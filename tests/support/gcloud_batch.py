"""Run many gcloud commands in one warm gcloud: a fork per command.

Executed by gcloud's own Python (not the project venv), under ``unshare -n``:

    python gcloud_batch.py SDK_LIB WORKERS < [[argv...], ...]  →  [[argv, exit, output, seconds], ...]

gcloud spends most of a call importing itself. Here its launcher module and command
tree are loaded once; each command then runs in a forked child through
``gcloud_main.main`` — the function the ``gcloud`` script ends in — so every command
sees a fresh process state with the same parser, flags and error messages.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time


def _child(gcloud_main, cli, argv, out_fd):  # type: ignore[no-untyped-def]
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    sys.argv = ["gcloud", *argv[1:]]
    try:
        code = gcloud_main.main(gcloud_cli=cli) or 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report anything as a failure of this command
        import traceback

        traceback.print_exc()
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    sdk_lib, workers = sys.argv[1], int(sys.argv[2])
    sys.path.insert(0, sdk_lib)
    import gcloud as launcher  # puts gcloud's vendored packages on sys.path

    launcher._fix_google_module()
    from googlecloudsdk import gcloud_main

    cli = gcloud_main.CreateCLI([])
    commands = json.load(sys.stdin)
    results = [None] * len(commands)
    running = {}  # pid -> (index, output file, started)
    pending = list(enumerate(commands))
    while pending or running:
        while pending and len(running) < workers:
            index, argv = pending.pop(0)
            out = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the child is reaped
            started = time.monotonic()
            pid = os.fork()
            if pid == 0:
                _child(gcloud_main, cli, argv, out.fileno())
            running[pid] = (index, out, started)
        pid, status = os.wait()
        index, out, started = running.pop(pid)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
        out.close()
        results[index] = [commands[index], os.waitstatus_to_exitcode(status), text, time.monotonic() - started]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
