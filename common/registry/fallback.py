"""Which models, from which source: the registry, else what the caller remembers, else the built-in list.

``which_models`` is the one answer, used by the prediction worker
(``common/worker/sources.py``: manifest, registry, cached manifest) and by grading
(``common/grading/catalog.py``: registry). It asks each source in order; a source
that fails (``AppError``, ``OSError``) is logged by name and the next is asked; one
that answers ``None`` (nothing there yet) is passed over quietly. When none
answers, the checked-in list of known-good models (``builtin_models.json``, the old
``MONTHLY_MODELS`` dict's role) stands in, so a registry outage never leaves a
worker without models or grading without model metadata.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from common.errors import AppError
from common.registry.card import parse_date
from common.registry.model import ModelRecord, from_row

log = logging.getLogger(__name__)
BUILTIN_FILE = Path(__file__).with_name("builtin_models.json")
BUILTIN = "built-in"
T = TypeVar("T")


@dataclass(frozen=True)
class Answer(Generic[T]):
    """What ``which_models`` found, and where: a source's name or ``BUILTIN``."""

    source: str
    value: T


def builtin_models(path: Path | None = None) -> list[ModelRecord]:
    """The checked-in list, as registry records (enabled entries only)."""
    entries = json.loads((path or BUILTIN_FILE).read_text())
    records = []
    for entry in entries:
        row = dict(entry)
        for key in ("train_start", "train_end", "eval_start", "eval_end"):
            row[key] = parse_date(row.get(key), key)
        record = from_row(ModelRecord, row)
        if record.serves:
            records.append(record)
    return records


def which_models(
    sources: Sequence[tuple[str, Callable[[], T | None]]],
    from_builtin: Callable[[list[ModelRecord]], T],
) -> Answer[T]:
    """The first of ``sources`` (name, reader) that answers; else ``from_builtin(builtin_models())``."""
    failures = []
    for name, read in sources:
        try:
            value = read()
        except (AppError, OSError) as exc:
            log.error("%s unreadable: %s", name, exc, extra={"source": name, "reason": str(exc)})
            failures.append(name)
            continue
        if value is not None:
            return Answer(name, value)
    log.error(
        "%s unreadable, serving the built-in list", " and ".join(failures) or "no source answered",
        extra={"source": BUILTIN, "failed": failures},
    )  # fmt: skip
    return Answer(BUILTIN, from_builtin(builtin_models()))
