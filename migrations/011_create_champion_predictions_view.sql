-- 011: champion_predictions, the legacy `system_id = 'catboost_v9'` for downstream queries.
-- The rows the champion of the moment wrote (role = 'champion'), whatever its model id; a date
-- keeps the champion that served it. Same columns as player_prop_predictions (system_id is the
-- champion's model id). BigQuery needs dataset-qualified names in a view body: the BigQuery
-- engine qualifies them with its own dataset when it applies this file (common/sql.py:qualify_view).
CREATE OR REPLACE VIEW champion_predictions AS
SELECT
  game_date,
  game_id,
  player_id,
  system_id,
  role,
  predicted_points,
  line,
  edge,
  recommendation,
  model_sha256,
  created_at
FROM player_prop_predictions
WHERE role = 'champion';
