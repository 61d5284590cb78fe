"""Slack delivery through slack-sdk's ``WebhookClient`` and its retry handlers.

Server errors (500/503), connection errors and rate limits are retried by slack-sdk's
own handlers with exponential backoff; a 429's ``Retry-After`` is honoured up to
``MAX_RETRY_AFTER_SECONDS`` (a longer wait is left to the platform's redelivery). The
handlers check the attempt budget before sleeping, so nothing sleeps after the last try.

The webhook URL is a secret. It never leaves this module: slack-sdk gets a silent
logger (it logs the URL at DEBUG and in some errors), and every error raised here is
built from scratch, scrubbed of the URL and not chained to the client's exception.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from common.errors import ConfigError, TransientError
from common.settings import SLACK_WEBHOOK_URL, Settings

if TYPE_CHECKING:
    from slack_sdk.http_retry.handler import RetryHandler

log = logging.getLogger(__name__)
WEBHOOK_ENV = SLACK_WEBHOOK_URL
MAX_RETRY_AFTER_SECONDS = 30.0
_REDACTED = f"<{WEBHOOK_ENV}>"
# slack-sdk logs the webhook URL (debug) and error texts that may carry it: never let it through.
_SDK_LOG = logging.getLogger("common.notify.slack_sdk")
_SDK_LOG.setLevel(logging.CRITICAL + 1)
_SDK_LOG.propagate = False


class SlackPoster:
    """Posts Block Kit messages to an incoming webhook, or to the log when there is none."""

    def __init__(
        self, webhook_url: str | None, timeout: int = 10, retries: int = 3, backoff_seconds: float = 0.5
    ) -> None:
        self._url = webhook_url
        self.timeout = timeout
        self.retries = retries
        self.backoff_seconds = backoff_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackPoster:
        poster = cls(
            settings.slack_webhook_url,
            settings.slack_timeout_seconds,
            settings.slack_retries,
            settings.slack_backoff_seconds,
        )
        if poster._url and settings.notify_lease_seconds < poster.longest_post:
            log.warning(
                "NOTIFY_LEASE_SECONDS=%d is shorter than the longest Slack post (%.0f s with SLACK_TIMEOUT_SECONDS, "
                "SLACK_RETRIES, SLACK_BACKOFF_SECONDS): a slow post may be taken over and sent twice",
                settings.notify_lease_seconds,
                poster.longest_post,
            )
        return poster

    @property
    def longest_post(self) -> float:
        """An upper bound of one ``post``'s duration: every attempt timing out, every retry's longest wait."""
        longest_wait = max(MAX_RETRY_AFTER_SECONDS + 1, self.backoff_seconds * 2 ** max(self.retries - 1, 0) * 1.25)
        return (self.retries + 1) * self.timeout + self.retries * longest_wait

    def __repr__(self) -> str:
        return f"SlackPoster({'configured' if self._url else 'log only'})"

    def post(self, text: str, blocks: list[dict[str, Any]]) -> str:
        """Deliver; returns where it went ("slack" or "log")."""
        if not self._url:
            log.info(
                "Slack not configured (%s unset); message follows:\n%s",
                WEBHOOK_ENV,
                text,
                extra={"slack_blocks": blocks},
            )
            return "log"
        from slack_sdk.webhook import WebhookClient  # 0.1–0.15 s to import: only when a post goes out

        client = WebhookClient(self._url, timeout=self.timeout, logger=_SDK_LOG, retry_handlers=self._handlers())
        try:
            response = client.send(text=text, blocks=blocks)
        except Exception as exc:  # noqa: BLE001 - anything the client raises: scrubbed, not chained
            raise TransientError(f"Slack webhook ({WEBHOOK_ENV}) unreachable: {self._scrub(exc)}") from None
        return self._outcome(response.status_code, response.body or "", response.headers or {})

    def _outcome(self, status: int, body: str, headers: Any) -> str:
        if status == 200:
            return "slack"
        detail = f"HTTP {status} {self._scrub(body)[:200]}".strip()
        if status == 429:
            wait = self._scrub(retry_after(headers))[:20]
            raise TransientError(f"Slack rate-limited the post ({detail}; Retry-After {wait}); retry later")
        if 400 <= status < 500:
            raise ConfigError(f"Slack refused the post to {WEBHOOK_ENV} ({detail}): check the webhook")
        raise TransientError(f"Slack webhook ({WEBHOOK_ENV}) failed after {self.retries} retries: {detail}")

    def _handlers(self) -> list[RetryHandler]:
        from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, ServerErrorRetryHandler
        from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

        from common.notify.slack_retry import BoundedRateLimitErrorRetryHandler, ProportionalJitter

        interval = BackoffRetryIntervalCalculator(self.backoff_seconds, ProportionalJitter())
        return [
            ConnectionErrorRetryHandler(self.retries, interval),
            ServerErrorRetryHandler(self.retries, interval),
            BoundedRateLimitErrorRetryHandler(self.retries, MAX_RETRY_AFTER_SECONDS, retry_after),
        ]

    def _scrub(self, value: object) -> str:
        """``value`` as text with the webhook (and its secret path) cut out."""
        text = str(value)
        if not self._url:
            return text
        secrets = [self._url, urlsplit(self._url).path]
        for secret in sorted(filter(lambda s: len(s) > 1, secrets), key=len, reverse=True):
            text = text.replace(secret, _REDACTED)
        return text


def retry_after(headers: Any) -> str | None:
    """The raw ``Retry-After`` of a response (header values may come as lists)."""
    for key, value in dict(headers).items():
        if str(key).lower() == "retry-after":
            return str(value[0] if isinstance(value, list) and value else value).strip()
    return None
