"""Every query the prediction worker runs, written once in BigQuery SQL with named parameters.

Predictions are replaced per (date, ``system_id``) for the models a run actually
scored: a model that was not scored (skipped, disabled, unreadable) keeps the rows
it already has for that date.
"""

from __future__ import annotations

DELETE_PREDICTIONS = """
DELETE FROM player_prop_predictions
WHERE game_date = @game_date AND system_id IN UNNEST(@system_ids)"""

# worker_acks: one row per worker, rewritten on every reload and whenever what it serves has a problem.
RECORD_ACK = """
MERGE worker_acks T
USING (SELECT @worker_id AS worker_id) S ON T.worker_id = S.worker_id
WHEN MATCHED THEN UPDATE SET generation = @generation, source = @source, models_json = @models_json,
  champion = @champion, problem = @problem, acked_at = @acked_at
WHEN NOT MATCHED THEN INSERT (worker_id, generation, source, models_json, champion, problem, acked_at)
  VALUES (@worker_id, @generation, @source, @models_json, @champion, @problem, @acked_at)"""

LIST_ACKS = """
SELECT worker_id, generation, source, champion, models_json, problem, acked_at
FROM worker_acks
ORDER BY acked_at DESC, worker_id"""

# `modelctl history --game-date`: whose rows were the champion's for a date's games (the view of migration 011).
CHAMPION_OF_GAME_DATE = """
SELECT system_id, COUNT(*) AS n_rows, MAX(created_at) AS predicted_at
FROM champion_predictions
WHERE game_date = @game_date
GROUP BY system_id
ORDER BY predicted_at DESC, system_id"""
