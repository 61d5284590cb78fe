"""Slack delivery, once per key: claim → post (with backoff) → mark sent.

Without ``SLACK_WEBHOOK_URL`` the message goes to the log instead, under the same
once-per-key rule. A post that still fails after the retries releases its claim
and raises ``TransientError``, so the triggering message comes back later.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from common.errors import Conflict, TransientError
from common.sql import Engine, Param

log = logging.getLogger(__name__)
STALE_CLAIM = timedelta(minutes=10)

CLAIM = [
    """SELECT IF(EXISTS(SELECT 1 FROM notifications WHERE notification_key = @key
                        AND (status = 'sent' OR claimed_at > @stale_before)),
                 ERROR(CONCAT('conflict: notification ', @key, ' already claimed or sent')), 0)""",
    "DELETE FROM notifications WHERE notification_key = @key",
    """INSERT INTO notifications (notification_key, kind, status, payload, claimed_at, sent_at)
       VALUES (@key, @kind, 'claimed', @payload, @now, NULL)""",
]
MARK_SENT = "UPDATE notifications SET status = 'sent', sent_at = @now WHERE notification_key = @key"
RELEASE = "DELETE FROM notifications WHERE notification_key = @key AND status = 'claimed'"
STATUS = "SELECT status FROM notifications WHERE notification_key = @key"


class SlackPoster:
    """Posts Block Kit messages to an incoming webhook with retries and backoff."""

    def __init__(self, webhook_url: str | None, attempts: int = 4, base_delay: float = 0.5) -> None:
        self.webhook_url = webhook_url
        self.attempts = attempts
        self.base_delay = base_delay

    def post(self, text: str, blocks: list[dict[str, Any]]) -> str:
        """Deliver; returns where it went ("slack" or "log")."""
        if not self.webhook_url:
            log.info(
                "Slack not configured (SLACK_WEBHOOK_URL unset); message follows:\n%s",
                text,
                extra={"slack_blocks": blocks},
            )
            return "log"
        from slack_sdk.webhook import WebhookClient

        client = WebhookClient(self.webhook_url, timeout=10)
        last = ""
        for attempt in range(self.attempts):
            try:
                response = client.send(text=text, blocks=blocks)
                if response.status_code == 200:
                    return "slack"
                last = f"HTTP {response.status_code}: {response.body}"
            except OSError as exc:  # connection refused, DNS, timeouts
                last = str(exc)
            time.sleep(self.base_delay * (2**attempt))
        raise TransientError(f"Slack webhook failed after {self.attempts} attempts: {last}")


def deliver_once(
    engine: Engine, key: str, kind: str, payload: dict[str, Any], send: Callable[[], str], now: datetime
) -> str:
    """Run ``send`` at most once for ``key``; returns "sent:<where>" or "duplicate"."""
    params = {
        "key": key,
        "kind": kind,
        "payload": json.dumps(payload, default=str),
        "now": now,
        "stale_before": now - STALE_CLAIM,
    }
    try:
        engine.run_atomic([(sql, params) for sql in CLAIM])
    except Conflict:
        log.info("notification %s already sent or in flight; not posting again", key, extra={"key": key})
        return "duplicate"
    try:
        where = send()
    except BaseException:
        engine.run_atomic([(RELEASE, {"key": key})])
        raise
    engine.run_atomic([(MARK_SENT, {"key": key, "now": Param(now, "TIMESTAMP")})])
    return f"sent:{where}"
