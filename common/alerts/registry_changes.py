"""Registry notifications: promote, retire, enable, disable and rejections, on Slack.

Sent from the registry-change flow (``common/services/on_registry_change.py``), so every path
that changes the registry notifies: the CLI, a function, a future web page. Each change
message posts one Slack message (who, what, why) at once; a batch from one command
(``announce.batched_changes()``, e.g. ``retrain --all --enable``) posts one summary. Once per
message content, through the once-per-key delivery: a redelivered message posts nothing new.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from common.events import RegistryChangeMessage
from common.notify import SlackPoster, deliver_once
from common.notify.blocks import escape, header, section
from common.runtime import runtime_for
from common.settings import Settings

log = logging.getLogger(__name__)
KIND = "registry_change"
#: the changes the team hears about (registration itself, resyncs and demotions ride along silently)
NOTIFIED = ("promoted", "retired", "enabled", "disabled", "rejected")


def changes_of(change: RegistryChangeMessage) -> list[RegistryChangeMessage]:
    """The notified changes a registry-change message carries (one, or a batch's)."""
    changes = change.changes if change.action == "batch" else (change,)
    return [c for c in changes if c.action in NOTIFIED and c.model_ids]


def line(change: RegistryChangeMessage) -> str:
    """One change as a sentence: who did what to which model, and why."""
    ids = [escape(i) for i in change.model_ids]
    what = f"{change.action} `{ids[-1]}`"
    if change.action == "rejected":  # a registration that could not enter: ids hold the object
        what = f"could not register `{ids[-1]}` (rejected)"
    elif change.action == "promoted" and len(ids) > 1:
        what += f" (replacing champion `{ids[0]}`)"
    why = escape(change.reason) if change.reason else "no reason given"
    return f"*{escape(change.actor or 'unknown')}* {what} — {why}"


def message(changes: list[RegistryChangeMessage]) -> tuple[str, list[dict[str, Any]]]:
    """One change: one line. Several (a batch): a summary header and a line each."""
    lines = [line(c) for c in changes]
    if len(changes) == 1:
        text = f"Registry: {lines[0]}"
        return text, [section(text)]
    actors = ", ".join(dict.fromkeys(escape(c.actor or "unknown") for c in changes))
    title = f"Registry: {len(changes)} changes by {actors}"
    return "\n".join([title, *lines]), [header(title), section("\n".join(f"• {x}" for x in lines))]


def notify_registry_change(change: RegistryChangeMessage, settings: Settings) -> str:
    changes = [c.body() for c in changes_of(change)]
    if not changes:
        return "none"
    text, blocks = message(changes_of(change))
    digest = hashlib.sha256(json.dumps(changes, sort_keys=True, default=str).encode()).hexdigest()[:32]
    poster = SlackPoster.from_settings(settings)
    return deliver_once(
        runtime_for(settings).engine(),
        f"{KIND}:{digest}",
        KIND,
        {"changes": changes},
        lambda: poster.post(text, blocks),
        datetime.now(UTC),
        timedelta(seconds=settings.notify_lease_seconds),
    )
