"""The dashboard's read-only queries that no other queries module holds yet (BigQuery SQL, named parameters).

Everything else the dashboard shows comes through the registry's and grading's own
services and queries. These two read tables whose stores are being given their own
queries modules (worker acks: the worker's store; notifications: the notify store);
when those land, these statements move there and this module imports them.
"""

from __future__ import annotations

# What each prediction worker last acknowledged serving, newest first (one row per worker).
WORKER_ACKS = """
SELECT worker_id, generation, source, champion, models_json, acked_at FROM worker_acks
ORDER BY acked_at DESC, worker_id LIMIT @limit"""

# The latest delivered (or claimed) notification of one kind, e.g. the nightly retrain reminder.
LAST_NOTIFICATION = """
SELECT notification_key, kind, status, payload, claimed_at, sent_at FROM notifications
WHERE kind = @kind
ORDER BY claimed_at DESC, notification_key DESC LIMIT 1"""
