"""Notification deliveries: SQL ↔ ``Delivery`` objects, through an engine, atomically.

The rule (claim a lease, post, mark sent; take over an expired lease) lives in
``delivery.py``; this module only reads and writes rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from common.notify import queries as q
from common.sql import Engine, Param, open_engine


@dataclass(frozen=True)
class Delivery:
    """One row of ``notification_deliveries``."""

    notification_key: str
    kind: str
    status: str  # "claimed" or "sent"
    payload: str | None
    claimed_by: str | None
    claimed_at: datetime
    lease_expires_at: datetime
    attempts: int
    sent_at: datetime | None

    @property
    def sent(self) -> bool:
        return self.status == "sent"

    def live_at(self, now: datetime) -> bool:
        """A claim whose lease has not run out yet."""
        return not self.sent and _aware(self.lease_expires_at) > now


def _aware(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


class NotificationStore:
    """Reads and atomic writes of ``notification_deliveries`` on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> NotificationStore:
        return cls(open_engine(url))

    def get(self, key: str) -> Delivery | None:
        rows = self.engine.query(q.GET, {"key": key})
        return Delivery(**rows[0]) if rows else None

    def latest(self, kind: str) -> Delivery | None:
        """The newest delivery of ``kind``, sent or in flight."""
        rows = self.engine.query(q.LATEST, {"kind": kind})
        return Delivery(**rows[0]) if rows else None

    def claim(self, key: str, kind: str, payload: str, owner: str, now: datetime, lease: timedelta) -> None:
        """Claim ``key`` until ``now + lease``; ``Conflict`` when it is sent or claimed by a live lease."""
        before = self.get(key)
        params: dict[str, Any] = {
            "key": key,
            "kind": kind,
            "payload": payload,
            "owner": owner,
            "now": Param(now, "TIMESTAMP"),
            "lease_expires_at": Param(now + lease, "TIMESTAMP"),
            "attempts": (before.attempts if before else 0) + 1,
        }
        self.engine.run_atomic([(sql, params) for sql in (q.GUARD_CLAIMABLE, q.DROP_EXPIRED, q.INSERT_CLAIM)])

    def mark_sent(self, key: str, owner: str, now: datetime) -> None:
        self.engine.run_atomic([(q.MARK_SENT, {"key": key, "owner": owner, "now": Param(now, "TIMESTAMP")})])

    def release(self, key: str, owner: str) -> None:
        self.engine.run_atomic([(q.RELEASE, {"key": key, "owner": owner})])
