"""The one place the retry contract lives: a raw CloudEvent in, a delivery outcome out.

``run_event`` turns a raw CloudEvent into a typed event, drops stale ones, calls
the service and maps the outcome onto delivery semantics:

* success, or a permanent ``AppError`` → logged and acknowledged (HTTP 2xx);
* a retryable ``AppError`` (``TransientError``; ``ConfigError``, a deployment to
  fix such as "run `modelctl migrate`": events must wait for it, not be lost) or
  anything unexpected → raised, so the platform answers 500 and redelivers until
  the maximum age. Each error class says which it is (``common/errors.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from common.errors import AppError
from common.events import PubSubMessage, StorageObject
from common.settings import Settings
from common.sql_bigquery import configure_jobs

log = logging.getLogger(__name__)
E = TypeVar("E", StorageObject, PubSubMessage)


def run_event(
    raw: Any, parse: Callable[[Any], E], service: Callable[[E, Settings], str], settings: Settings | None = None
) -> str:
    """Parse, age-check, run; acknowledge permanent failures, raise retryable ones.

    ``settings`` defaults to the process environment (a deployed function); the
    in-process bus and the CLI's stand-ins pass their own.
    """
    if settings is None:  # a deployed function: its environment names it (MODELCTL_ACTOR)
        settings = Settings.from_env()
        configure_jobs(settings)
    try:
        event = parse(raw)
    except AppError as exc:
        log.error("dropping malformed event: %s", exc, extra={"reason": str(exc), "outcome": "invalid"})
        return "invalid"
    ctx = event.context
    age = ctx.age_seconds()
    if age is not None and age > settings.max_event_age_seconds:
        log.warning(
            "dropping event %s: %.0f s old, over MAX_EVENT_AGE_SECONDS=%d",
            ctx.event_id,
            age,
            settings.max_event_age_seconds,
            extra={"event_id": ctx.event_id, "outcome": "stale"},
        )
        return "stale"
    try:
        outcome = service(event, settings)
    except AppError as exc:
        if exc.retryable:
            log.warning("failure, will be redelivered: %s", exc, extra={"event_id": ctx.event_id})
            raise
        log.error(
            "permanent failure, acknowledged: %s",
            exc,
            extra={"event_id": ctx.event_id, "reason": str(exc), "outcome": "rejected"},
        )
        return "rejected"
    log.info("event %s: %s", ctx.event_id, outcome, extra={"event_id": ctx.event_id, "outcome": outcome})
    return outcome
