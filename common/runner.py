"""The one place the retry contract lives: a raw CloudEvent in, a delivery outcome out.

``run_event`` turns a raw CloudEvent into a typed event, drops stale ones, calls
the service and maps the outcome onto delivery semantics:

* success, a malformed or stale event, or a permanent ``AppError`` → logged and
  acknowledged (HTTP 2xx);
* a retryable ``AppError`` (``TransientError``; ``ConfigError``, a deployment to
  fix such as "run `modelctl migrate`": events must wait for it, not be lost) or
  anything unexpected → raised, so the platform answers 500 and redelivers until
  the maximum age. Each error class says which it is (``common/errors.py``).

Every delivery goes through it: the deployed functions, the in-process bus
(``common/eventbus.py``, where "raised" reaches the publisher, whose rerun is the
redelivery) and ``modelctl watch`` / ``remind``. Every log line written while an
event runs carries its ``event_id`` (and, for an event delivered while another runs
in this process, ``caused_by``: the other's id; services add ``model_id``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from common.errors import AppError
from common.events import PubSubMessage, StorageObject
from common.log import context_fields, log_context
from common.settings import Settings

log = logging.getLogger(__name__)
E = TypeVar("E", StorageObject, PubSubMessage)


@dataclass(frozen=True)
class Delivery:
    """What became of one event: its outcome and, when it was acknowledged unhandled, why."""

    outcome: str  # "invalid", "stale", "rejected", or the service's outcome
    error: AppError | None = None  # the malformed event's or the permanent failure's error


def run_event(
    raw: Any, parse: Callable[[Any], E], service: Callable[[E, Settings], str], settings: Settings | None = None
) -> str:
    """Parse, age-check, run; acknowledge permanent failures, raise retryable ones.

    ``settings`` defaults to the process environment (a deployed function); the
    in-process bus and the CLI's stand-ins pass their own.
    """
    return deliver(raw, parse, service, settings).outcome


def deliver(
    raw: Any, parse: Callable[[Any], E], service: Callable[[E, Settings], str], settings: Settings | None = None
) -> Delivery:
    """``run_event``, telling also why an acknowledged event was not handled."""
    if settings is None:  # a deployed function: from its environment (MODELCTL_ACTOR)
        settings = environment_settings()
    outer = context_fields().get("event_id")
    with log_context(event_id=_raw_id(raw), **({"caused_by": outer} if outer else {})):
        return _run(raw, parse, service, settings)


def environment_settings() -> Settings:
    """A deployed function's settings, from its environment; its BigQuery jobs are labelled with its
    actor (``MODELCTL_ACTOR``). Equal settings give the same runtime (``common.runtime.runtime_for``),
    so every event of an instance shares one. A bad setting raises ``ConfigError`` here, at every call."""
    from common.sql_bigquery import configure_jobs

    settings = Settings.from_env()
    configure_jobs(settings)
    return settings


def _raw_id(raw: Any) -> str:
    try:
        return str(raw.get_attributes().get("id") or "")
    except AttributeError:  # not a CloudEvent: parse says so
        return ""


def _run(raw: Any, parse: Callable[[Any], E], service: Callable[[E, Settings], str], settings: Settings) -> Delivery:
    try:
        event = parse(raw)
    except AppError as exc:
        log.error("dropping malformed event: %s", exc, extra={"reason": str(exc), "outcome": "invalid"})
        return Delivery("invalid", exc)
    ctx = event.context
    age = ctx.age_seconds()
    if age is not None and age > settings.max_event_age_seconds:
        log.warning(
            "dropping event %s: %.0f s old, over MAX_EVENT_AGE_SECONDS=%d",
            ctx.event_id,
            age,
            settings.max_event_age_seconds,
            extra={"outcome": "stale"},
        )
        return Delivery("stale")
    try:
        outcome = service(event, settings)
    except AppError as exc:
        if exc.retryable:
            log.warning("failure, will be redelivered: %s", exc)
            raise
        log.error("permanent failure, acknowledged: %s", exc, extra={"reason": str(exc), "outcome": "rejected"})
        return Delivery("rejected", exc)
    log.info("event %s: %s", ctx.event_id, outcome, extra={"outcome": outcome})
    return Delivery(outcome)
