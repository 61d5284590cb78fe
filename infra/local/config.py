"""What a local stack is made of: function and trigger specs, and the TOML file that lists them.

Pure data and validation, no processes: :mod:`infra.local.stack` starts what these describe.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local.processes import ROOT, StackError

DEFAULT_CONFIG = Path(__file__).with_name("stack.toml")
STORAGE, PUBSUB = "storage", "pubsub"


@dataclass(frozen=True)
class FunctionSpec:
    """One function: ``source`` is a directory with main.py or a .py file. CloudEvent functions
    are fed by subscriptions; an ``http`` one (the prediction worker) is called directly."""

    name: str
    source: Path
    target: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    signature: str = "cloudevent"  # or "http"

    def source_file(self) -> Path:
        """The Python file functions-framework loads."""
        path = Path(self.source)
        path = path if path.is_absolute() else ROOT / path
        return path / "main.py" if path.suffix != ".py" else path


@dataclass(frozen=True)
class PushSpec:
    """A trigger: Pub/Sub ``topic`` -> ``function``, or (``trigger="storage"``) GCS finalize."""

    function: str
    topic: str | None = None
    trigger: str = PUBSUB
    subscription: str | None = None
    ack_deadline: int = 60

    def __post_init__(self) -> None:
        if self.trigger not in (PUBSUB, STORAGE):
            raise StackError(f"trigger must be {PUBSUB!r} or {STORAGE!r}, got {self.trigger!r}")
        if self.trigger == PUBSUB and not self.topic:
            raise StackError(f"pubsub trigger of {self.function!r} needs a topic")

    def subscription_name(self, gcs_topic: str) -> str:
        """The push subscription's id."""
        return self.subscription or f"{self.topic or gcs_topic}--{self.function}"


STACK_KEYS = {"project", "bucket", "gcs_topic", "gcs_backend", "topics", "pubsub_port", "gcs_port", "startup_timeout"}
PUSH_KEYS = {"topic", "trigger", "subscription", "ack_deadline"}


@dataclass(frozen=True)
class StackConfig:
    """The stack described by a TOML file (see stack.toml): specs plus :meth:`Stack.start` options.

    Start it with :func:`infra.local.stack.start_config`.
    """

    functions: list[FunctionSpec]
    subscriptions: list[PushSpec]
    options: dict[str, Any]


def load_config(path: Path = DEFAULT_CONFIG) -> StackConfig:
    """Read a stack TOML file (format: see stack.toml)."""
    raw = tomllib.loads(Path(path).read_text())
    options = dict(raw.get("stack", {}))
    if set(options) - STACK_KEYS:
        raise StackError(f"{path}: unknown [stack] keys {sorted(set(options) - STACK_KEYS)}")
    options.setdefault("bucket", "local-models")
    options["env"] = dict(raw.get("env", {}))
    if "startup_timeout" in options:
        options["timeout"] = float(options.pop("startup_timeout"))
    functions, subscriptions = [], []
    for name, table in raw.get("functions", {}).items():
        unknown = set(table) - PUSH_KEYS - {"source", "target", "env"}
        if unknown or "source" not in table:
            raise StackError(f"{path}: [functions.{name}] needs source; unknown keys {sorted(unknown)}")
        http = table.get("trigger") == "http"
        if http and set(table) & (PUSH_KEYS - {"trigger"}):
            raise StackError(f"{path}: [functions.{name}] is an HTTP function: no topic, subscription or deadline")
        source, target, env = Path(table["source"]), table.get("target"), dict(table.get("env", {}))
        functions.append(FunctionSpec(name, source, target, env, "http" if http else "cloudevent"))
        if not http:
            subscriptions.append(PushSpec(name, **{key: table[key] for key in PUSH_KEYS if key in table}))
    return StackConfig(functions, subscriptions, options)
