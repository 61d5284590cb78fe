"""Block Kit pieces within Slack's limits, and text that cannot mention or link by accident.

Slack refuses a message whose section text passes 3,000 characters (or a header 150): a
refused post would come back on every redelivery, so long text is cut here instead. Text
that comes from outside (reasons, model ids, player names) is escaped, so that ``<!channel>``
in a rejection reason stays text rather than paging everyone.
"""

from __future__ import annotations

from typing import Any

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
CONTEXT_LIMIT = 2000


def escape(text: object) -> str:
    """Slack's mrkdwn escaping: ``&``, ``<`` and ``>`` become entities."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_LIMIT)}}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, CONTEXT_LIMIT)}]}
