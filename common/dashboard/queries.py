"""The dashboard's read-only queries that no other queries module holds (BigQuery SQL, named parameters).

Everything else the dashboard shows comes through the registry's, grading's, the worker's
and the notify store's own services and queries.
"""

from __future__ import annotations

# How many predictions one game date has, and how many of them are graded: the now-strip's
# "yesterday" flag. Each count reads one date partition.
DAY_COUNTS = """
SELECT
  (SELECT COUNT(*) FROM player_prop_predictions WHERE game_date = @day) AS predicted,
  (SELECT COUNT(*) FROM prediction_accuracy WHERE game_date = @day) AS graded"""
