"""Once per key: claim a lease → post → mark sent.

* A key already ``sent`` is a duplicate: nothing is posted, the trigger is acknowledged.
* A key claimed by a live lease (another attempt is posting right now, or died less
  than a lease ago) raises ``TransientError``: the platform redelivers later, and the
  message is never swallowed.
* A key whose lease ran out (its process was killed mid-post) is taken over.
* A post that fails gives the claim back and raises, so the next delivery posts.

A delivery counts as done only once it is marked ``sent``. The lease
(``NOTIFY_LEASE_SECONDS``) must outlast the longest post (``SlackPoster.longest_post``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from common.errors import Conflict, TransientError
from common.notify.store import NotificationStore
from common.settings import Settings
from common.sql import Engine

log = logging.getLogger(__name__)


def _owner() -> str:
    """Who holds a claim: host, process and a per-attempt token."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def deliver_once(
    engine: Engine,
    key: str,
    kind: str,
    payload: dict[str, Any],
    send: Callable[[], str],
    now: datetime,
    lease: timedelta | None = None,
) -> str:
    """Run ``send`` for ``key`` until it succeeds once; returns "sent:<where>" or "duplicate"."""
    store = NotificationStore(engine)
    lease = lease or timedelta(seconds=Settings.notify_lease_seconds)
    owner = _owner()
    if not _claim(store, key, kind, json.dumps(payload, default=str, sort_keys=True), owner, now, lease):
        return "duplicate"
    try:
        where = send()
    except BaseException:
        store.release(key, owner)
        raise
    store.mark_sent(key, owner, now)
    return f"sent:{where}"


def _claim(
    store: NotificationStore, key: str, kind: str, payload: str, owner: str, now: datetime, lease: timedelta
) -> bool:
    """Take the lease on ``key``: True when claimed, False when it was already sent."""
    before = store.get(key)
    if before is not None and before.sent:  # the common redelivery: no write needed to know
        log.info("notification %s already sent; not posting again", key, extra={"key": key})
        return False
    if before is not None and not before.live_at(now):
        log.warning(
            "notification %s: the lease of %s ran out at %s without a post; taking it over",
            key,
            before.claimed_by,
            before.lease_expires_at,
            extra={"key": key, "previous_owner": before.claimed_by},
        )
    try:
        store.claim(key, kind, payload, owner, now, lease)
        return True
    except Conflict:
        current = store.get(key)
    if current is not None and current.sent:
        log.info("notification %s already sent; not posting again", key, extra={"key": key})
        return False
    holder = f"{current.claimed_by} (lease until {current.lease_expires_at})" if current else "another attempt"
    raise TransientError(f"notification {key} is being delivered by {holder}; retry later")
