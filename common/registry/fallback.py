"""The built-in list of known-good models: the old ``MONTHLY_MODELS`` dict's role.

Checked in as ``builtin_models.json`` and used only when the registry cannot be
read, so that a BigQuery outage never leaves the worker without models. Whoever
loads models calls ``load_serving_models`` and gets the log line
``Loaded N models (X from registry, Y from built-in)``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from common.errors import AppError
from common.registry.model import ModelRecord, from_row
from common.registry.modelfile import parse_date

log = logging.getLogger(__name__)
BUILTIN_FILE = Path(__file__).with_name("builtin_models.json")


@dataclass(frozen=True)
class ServingSet:
    """The models a worker should serve, and where the list came from."""

    models: tuple[ModelRecord, ...]
    from_registry: int
    from_builtin: int

    @property
    def champion(self) -> ModelRecord | None:
        return next((m for m in self.models if m.is_champion), None)


def builtin_models(path: Path = BUILTIN_FILE) -> list[ModelRecord]:
    """The checked-in list, as registry records (enabled entries only)."""
    entries = json.loads(path.read_text())
    records = []
    for entry in entries:
        row = dict(entry)
        for key in ("train_start", "train_end", "eval_start", "eval_end"):
            row[key] = parse_date(row.get(key), key)
        record = from_row(ModelRecord, row)
        if record.serves:
            records.append(record)
    return records


def load_serving_models(list_enabled: object, path: Path = BUILTIN_FILE) -> ServingSet:
    """Enabled models from the registry; the built-in list if it cannot be read.

    ``list_enabled`` is a zero-argument callable returning the registry's enabled
    records (e.g. ``lambda: registry.list(enabled=True)``).
    """
    try:
        models = [m for m in list_enabled() if m.serves]  # type: ignore[operator]
        result = ServingSet(tuple(models), len(models), 0)
    except (AppError, OSError) as exc:
        log.error("registry unreadable, serving the built-in list: %s", exc, extra={"reason": str(exc)})
        models = builtin_models(path)
        result = ServingSet(tuple(models), 0, len(models))
    log.info(
        "Loaded %d models (%d from registry, %d from built-in)",
        len(result.models),
        result.from_registry,
        result.from_builtin,
        extra={"from_registry": result.from_registry, "from_builtin": result.from_builtin},
    )
    return result
