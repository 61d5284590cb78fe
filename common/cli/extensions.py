"""Command groups beyond the registry core, each adding its sub-commands to ``modelctl``.

Each entry is ``register(subparsers, add)`` where ``add(sub, name, handler, help)``
creates a sub-command with the shared ``--json`` flag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

REGISTRARS: list[Callable[[Any, Any], None]] = []


def _load() -> None:
    from common.cli import events_cmds, grading_cmds, worker_cmds

    REGISTRARS.append(events_cmds.register)
    REGISTRARS.append(worker_cmds.register)
    REGISTRARS.append(grading_cmds.register)

    from common.cli import publish_cmds

    REGISTRARS.append(publish_cmds.register)

    from common.cli import training_cmds

    REGISTRARS.append(training_cmds.register)

    from common.cli import legacy_cmds

    REGISTRARS.append(legacy_cmds.register)

    from common.cli import dashboard_cmds

    REGISTRARS.append(dashboard_cmds.register)


_load()
