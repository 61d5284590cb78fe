-- 007: what the prediction workers write.
-- player_prop_predictions: one row per player per model (system_id = model id) per game;
-- only the champion's rows feed user-facing picks, shadows are stored and graded.
CREATE TABLE IF NOT EXISTS player_prop_predictions (
  game_date DATE NOT NULL,
  game_id STRING NOT NULL,
  player_id INT64 NOT NULL,
  system_id STRING NOT NULL,
  role STRING NOT NULL,
  predicted_points FLOAT64,
  line FLOAT64,
  edge FLOAT64,
  recommendation STRING,
  model_sha256 STRING,
  created_at TIMESTAMP
);

-- worker_acks: what each running worker last acknowledged serving (modelctl workers).
CREATE TABLE IF NOT EXISTS worker_acks (
  worker_id STRING NOT NULL,
  generation INT64,
  source STRING,
  models_json STRING,
  champion STRING,
  acked_at TIMESTAMP
);
