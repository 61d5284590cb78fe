"""Outgoing notifications: Slack delivery, once per key.

* ``slack.py``: ``SlackPoster``, slack-sdk's ``WebhookClient`` with its retry handlers;
  the webhook never appears in a log line or an error.
* ``delivery.py``: ``deliver_once``, a lease per key (claim → post → mark sent).
* ``store.py`` / ``queries.py``: the ``notification_deliveries`` rows and their SQL.
"""

from __future__ import annotations

from common.notify.delivery import deliver_once
from common.notify.slack import SlackPoster

__all__ = ["SlackPoster", "deliver_once"]
