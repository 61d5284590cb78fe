"""Structured logs for Cloud Logging.

One JSON object per line on stderr with ``severity`` and ``message``, plus any
``extra={...}`` fields (``model_id``, ``event_id``...), which Cloud Logging turns
into ``jsonPayload`` fields that can be filtered on. Inside ``log_context`` (``run_event`` opens
one per event) every line, whichever logger writes it, also carries the context's fields: the
event id, the model id where known (``bind``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


_CONTEXT: ContextVar[dict[str, str] | None] = ContextVar("log_context", default=None)


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Every log line written inside (in this thread or task) carries ``fields``."""
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind(**fields: str) -> None:
    """Add ``fields`` to the current ``log_context`` until it ends (outside one: nothing)."""
    current = _CONTEXT.get()
    if current is not None:
        _CONTEXT.set({**current, **fields})


def context_fields() -> dict[str, str]:
    """The fields of the current ``log_context``."""
    return dict(_CONTEXT.get() or {})


class ContextFilter(logging.Filter):
    """Puts the current ``log_context`` onto each record (a field passed in ``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_CONTEXT.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line Cloud Logging understands."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def setup_logging(level: str | int | None = None, stream: object = None) -> None:
    """Install the JSON formatter on the root logger.

    Without ``level`` this is a no-op when already installed, so a function module
    imported inside the CLI (the in-process bus) keeps the CLI's quieter level.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_app_json", False)]
    if ours and level is None:
        return
    for handler in ours:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    handler._app_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level or "INFO")
