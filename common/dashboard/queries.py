"""The dashboard's read-only queries that no other queries module holds yet (BigQuery SQL, named parameters).

Everything else the dashboard shows comes through the registry's, grading's and the
notify store's own services and queries. This one reads a table whose store is being
given its own queries module (worker acks: the worker's store); when it lands, this
statement moves there and this module imports it.
"""

from __future__ import annotations

# What each prediction worker last acknowledged serving, newest first (one row per worker).
WORKER_ACKS = """
SELECT worker_id, generation, source, champion, models_json, acked_at FROM worker_acks
ORDER BY acked_at DESC, worker_id LIMIT @limit"""
