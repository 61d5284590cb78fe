"""Every query of the notification deliveries, written once in BigQuery SQL.

A delivery row is a lease: ``claimed`` by an owner until ``lease_expires_at``, then
``sent``. Values always travel as parameters.
"""

from __future__ import annotations

TABLE = "notification_deliveries"
COLUMNS = "notification_key, kind, status, payload, claimed_by, claimed_at, lease_expires_at, attempts, sent_at"

GET = f"SELECT {COLUMNS} FROM {TABLE} WHERE notification_key = @key"
# The newest delivery of one kind, sent or in flight (the dashboard's last reminder, the demo's alert).
LATEST = f"SELECT {COLUMNS} FROM {TABLE} WHERE kind = @kind ORDER BY claimed_at DESC, notification_key DESC LIMIT 1"

# The claim, one atomic unit: refuse a sent key or a live lease, drop an expired one, claim.
GUARD_CLAIMABLE = f"""
SELECT IF(EXISTS(SELECT 1 FROM {TABLE} WHERE notification_key = @key
                 AND (status = 'sent' OR lease_expires_at > @now)),
          ERROR(CONCAT('conflict: notification ', @key, ' is sent or claimed')), 0)"""
DROP_EXPIRED = f"DELETE FROM {TABLE} WHERE notification_key = @key AND status = 'claimed'"
INSERT_CLAIM = f"""
INSERT INTO {TABLE} ({COLUMNS})
VALUES (@key, @kind, 'claimed', @payload, @owner, @now, @lease_expires_at, @attempts, NULL)"""

MARK_SENT = f"""
UPDATE {TABLE} SET status = 'sent', sent_at = @now, claimed_by = @owner
WHERE notification_key = @key"""
# Only the owner gives a claim back: a lease taken over by someone else stays theirs.
RELEASE = f"DELETE FROM {TABLE} WHERE notification_key = @key AND status = 'claimed' AND claimed_by = @owner"
