"""The nightly per-family retrain reminder, and the nightly serving check.

For every family with at least one enabled model: days since the newest
(non-retired) model's ``train_end``. Families at or past the first threshold are
listed with an urgency level and the exact command that retrains them. The same
nightly job then converges a serving manifest left behind the registry
(``common.app.converge_serving``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from common.app import converge_serving, open_registry
from common.events import PubSubMessage, parse_retrain_reminder
from common.notify import SlackPoster, deliver_once
from common.registry.model import ModelRecord
from common.runtime import runtime_for
from common.settings import Settings

log = logging.getLogger(__name__)
KIND = "retrain_reminder"

LEVELS = ("due", "overdue", "critical")
EMOJI = {"due": ":large_yellow_circle:", "overdue": ":large_orange_circle:", "critical": ":red_circle:"}


@dataclass(frozen=True)
class FamilyStaleness:
    family: str
    newest_model_id: str
    newest_train_end: date
    days: int
    level: str | None  # None: fresh

    @property
    def command(self) -> str:
        return f"modelctl retrain --family {self.family}"


def staleness(records: list[ModelRecord], today: date, levels: tuple[int, int, int]) -> list[FamilyStaleness]:
    """Per family with an enabled model, how stale its newest model is (stalest first)."""
    families = {m.model_family for m in records if m.serves}
    result = []
    for family in families:
        candidates = [m for m in records if m.model_family == family and not m.is_retired]
        newest = max(candidates, key=lambda m: (m.train_end, m.model_id))
        days = (today - newest.train_end).days
        level = None
        for name, threshold in zip(LEVELS, levels, strict=True):
            if days >= threshold:
                level = name
        result.append(FamilyStaleness(family, newest.model_id, newest.train_end, days, level))
    return sorted(result, key=lambda f: (-f.days, f.family))


def message(stale: list[FamilyStaleness], fresh_count: int, today: date) -> tuple[str, list[dict[str, Any]]]:
    """A readable Block Kit message (and its plain-text fallback)."""
    if not stale:
        text = f"Retrain reminder {today}: all {fresh_count} active families are fresh."
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": f":white_check_mark: {text}"}}]
    header = f"Retrain reminder {today}: {len(stale)} famil{'y' if len(stale) == 1 else 'ies'} need retraining"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": header}}]
    lines = [header]
    for fam in stale:
        line = (
            f"{EMOJI[fam.level or 'due']} *{fam.family}* — {fam.days} days since {fam.newest_train_end} "
            f"({fam.level}); newest `{fam.newest_model_id}`\n`{fam.command}`"
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
        lines.append(f"- {fam.family}: {fam.days} days ({fam.level}) → {fam.command}")
    if fresh_count:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{fresh_count} other families are fresh."}]}
        )
    return "\n".join(lines), blocks


def on_retrain_reminder(msg: PubSubMessage, settings: Settings) -> str:
    """The ``retrain_reminder`` service: post the per-family staleness reminder, once per day."""
    today = parse_retrain_reminder(msg).day
    registry = open_registry(settings)
    outcome = _remind(registry.list(), today, settings)
    # After the reminder, so a manifest that cannot be rebuilt yet (retried) never holds it back.
    lag = converge_serving(settings, registry, "nightly retrain_reminder")
    return f"serving: {'resync sent, ' if lag.needs_rebuild else ''}{lag.detail}; reminder: {outcome}"


def _remind(records: list[ModelRecord], today: date, settings: Settings) -> str:
    families = staleness(records, today, settings.reminder_levels)
    stale = [f for f in families if f.days >= settings.reminder_min_days and f.level]
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
