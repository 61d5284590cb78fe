"""slack-sdk's retry handlers as ``SlackPoster`` tunes them: subclasses of slack-sdk classes, so this
module imports slack-sdk, and ``common/notify/slack.py`` imports it only when a post goes out."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.jitter import Jitter


class BoundedRateLimitErrorRetryHandler(RateLimitErrorRetryHandler):
    """slack-sdk's rate-limit handler (it sleeps ``Retry-After`` seconds), for waits it can honour here.

    A wait longer than ``max_wait_seconds`` (``slack.MAX_RETRY_AFTER_SECONDS``), or not in whole
    seconds, is not slept in-process: the post fails as transient and the platform redelivers later.
    ``retry_after`` reads a response's raw ``Retry-After`` (``slack.retry_after``).
    """

    def __init__(self, max_retry_count: int, max_wait_seconds: float, retry_after: Callable[[Any], str | None]) -> None:
        super().__init__(max_retry_count)
        self.max_wait_seconds = max_wait_seconds
        self.retry_after = retry_after

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = self.retry_after(response.headers)
        return wait is not None and wait.isdigit() and int(wait) <= self.max_wait_seconds


class ProportionalJitter(Jitter):
    """Up to +25% of each backoff (slack-sdk's default adds up to a whole second)."""

    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random() / 4)  # noqa: S311 - jitter, not cryptography
