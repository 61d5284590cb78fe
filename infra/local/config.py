"""What a local stack is made of: the processes and push subscriptions to start.

The functions and their triggers come from the inventory (``common/inventory.py``), the
same declaration the deploy planner reads; ``stack.toml`` holds only the stack's own
options (ports, bucket, backend) and local environment. Tests may start other functions
through the Python API (:class:`LocalFunction`, :class:`PushSpec`).

Pure data and validation, no processes: :mod:`infra.local.stack` starts what these describe.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import inventory
from infra.local.processes import ROOT, StackError

DEFAULT_CONFIG = Path(__file__).with_name("stack.toml")
STORAGE, PUBSUB = "storage", "pubsub"


@dataclass(frozen=True)
class LocalFunction:
    """One functions-framework process: ``source`` is a directory with main.py or a .py file.
    CloudEvent functions are fed by subscriptions; an ``http`` one (the prediction worker) is
    called directly."""

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

    @classmethod
    def of(cls, fn: inventory.Function, env: Mapping[str, str] | None = None) -> LocalFunction:
        """The process that serves inventory function ``fn``."""
        return cls(fn.name, Path("functions") / fn.source, fn.target, dict(env or {}), fn.signature_type)


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

    @classmethod
    def of(cls, fn: inventory.Function) -> PushSpec:
        """The push subscription that triggers inventory function ``fn`` (a storage or Pub/Sub trigger)."""
        return cls(fn.name, fn.topic or None, fn.trigger)

    def subscription_name(self, gcs_topic: str) -> str:
        """The push subscription's id."""
        return self.subscription or f"{self.topic or gcs_topic}--{self.function}"


STACK_KEYS = {"project", "bucket", "gcs_topic", "gcs_backend", "topics", "pubsub_port", "gcs_port", "startup_timeout"}


@dataclass(frozen=True)
class StackConfig:
    """The stack described by a TOML file (see stack.toml): specs plus :meth:`Stack.start` options.

    Start it with :func:`infra.local.stack.start_config`.
    """

    functions: list[LocalFunction]
    subscriptions: list[PushSpec]
    options: dict[str, Any]


def load_config(path: Path = DEFAULT_CONFIG) -> StackConfig:
    """Every inventory function with its trigger, and the options and environment of a stack TOML file."""
    raw = tomllib.loads(Path(path).read_text())
    if set(raw) - {"stack", "env", "function_env"}:
        raise StackError(f"{path}: unknown tables {sorted(set(raw) - {'stack', 'env', 'function_env'})}")
    options = dict(raw.get("stack", {}))
    if set(options) - STACK_KEYS:
        raise StackError(f"{path}: unknown [stack] keys {sorted(set(options) - STACK_KEYS)}")
    options.setdefault("bucket", "local-models")
    options["env"] = dict(raw.get("env", {}))
    if "startup_timeout" in options:
        options["timeout"] = float(options.pop("startup_timeout"))
    local_env = dict(raw.get("function_env", {}))
    known = {fn.name for fn in inventory.FUNCTIONS}
    if set(local_env) - known:
        raise StackError(
            f"{path}: [function_env] names functions not in the inventory: {sorted(set(local_env) - known)}"
        )
    functions = [LocalFunction.of(fn, local_env.get(fn.name)) for fn in inventory.FUNCTIONS]
    subscriptions = [PushSpec.of(fn) for fn in inventory.FUNCTIONS if fn.trigger != "http"]
    return StackConfig(functions, subscriptions, options)
