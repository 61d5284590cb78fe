"""``retrain_reminder``: the nightly job's message → the per-family staleness reminder (once per day),
then the serving check.

Staleness and the message are ``common/reminder.py``'s; convergence is ``common.app.converge_serving``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from common.app import converge_serving, open_registry
from common.events import PubSubMessage, parse_retrain_reminder
from common.notify import SlackPoster, deliver_once
from common.registry.model import ModelRecord
from common.reminder import KIND, FamilyStaleness, due, message, staleness
from common.runtime import runtime_for
from common.settings import Settings


def on_retrain_reminder(msg: PubSubMessage, settings: Settings) -> str:
    """The ``retrain_reminder`` service: post the per-family staleness reminder, once per day."""
    today = parse_retrain_reminder(msg).day
    registry = open_registry(settings)
    outcome = _remind(registry.list(), today, settings)
    # After the reminder, so a manifest that cannot be rebuilt yet (retried) never holds it back.
    lag = converge_serving(settings, registry, "nightly retrain_reminder")
    return f"serving: {'resync sent, ' if lag.needs_rebuild else ''}{lag.detail}; reminder: {outcome}"


def report(settings: Settings, today: date) -> list[FamilyStaleness]:
    """What the reminder of ``today`` says, read without sending it (``modelctl remind``)."""
    return staleness(open_registry(settings).list(), today, settings.reminder_levels)


def _remind(records: list[ModelRecord], today: date, settings: Settings) -> str:
    families = staleness(records, today, settings.reminder_levels)
    stale = due(families, settings.reminder_min_days)
    if not stale and settings.reminder_silent_when_clear:
        return f"all clear ({len(families)} families), silent"
    text, blocks = message(stale, len(families) - len(stale), today)
    poster = SlackPoster.from_settings(settings)
    result = deliver_once(
        runtime_for(settings).engine(),
        f"{KIND}:{today.isoformat()}",
        KIND,
        {"stale": [f.family for f in stale]},
        lambda: poster.post(text, blocks),
        datetime.now(UTC),
        timedelta(seconds=settings.notify_lease_seconds),
    )
    return f"{result}: {len(stale)} stale of {len(families)}"
