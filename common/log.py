"""Structured logs for Cloud Logging.

One JSON object per line on stderr with ``severity`` and ``message``, plus any
``extra={...}`` fields (``model_id``, ``event_id``...), which Cloud Logging turns
into ``jsonPayload`` fields that can be filtered on.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


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
    handler._app_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level or "INFO")
