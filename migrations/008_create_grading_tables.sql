-- 008: grading. Every prediction of a final game date is graded against the player's actual
-- points (prediction_accuracy), summarised per model per day (model_performance_daily), and the
-- registry carries each active model's live 7/14/30-day figures. Regrading a date replaces its rows.

-- One row per graded prediction: the player played and the prediction had a value.
-- is_correct is NULL when there was no bet to grade (a PASS, no line, or a push). Not stored, as
-- both are derivable and every column costs when a regrade rewrites a million rows: the model's
-- sha256 (player_prop_predictions, registry) and the signed error (predicted_points - actual_points).
CREATE TABLE IF NOT EXISTS prediction_accuracy (
  game_date DATE NOT NULL,
  game_id STRING NOT NULL,
  player_id INT64 NOT NULL,
  system_id STRING NOT NULL,
  role STRING,
  predicted_points FLOAT64 NOT NULL,
  line FLOAT64,
  edge FLOAT64,
  edge_bucket STRING,
  recommendation STRING,
  actual_points INT64 NOT NULL,
  absolute_error FLOAT64 NOT NULL,
  is_push BOOL NOT NULL,
  is_correct BOOL,
  graded_at TIMESTAMP NOT NULL
);

-- One row per model (system_id) per game date that had predictions. Counts are kept beside the
-- rates so that windows over several days are exact (weighted by n, n_bets, n_edge_3plus).
-- hit rates are percentages; coverage (quantile models only) is the share of actuals below the
-- prediction, to hold against quantile_alpha. in_sample: the date is within the model's training
-- window (train_end), so live evaluation leaves it out.
CREATE TABLE IF NOT EXISTS model_performance_daily (
  game_date DATE NOT NULL,
  system_id STRING NOT NULL,
  role STRING,
  n INT64 NOT NULL,
  mae FLOAT64,
  bias FLOAT64,
  n_bets INT64 NOT NULL,
  n_hits INT64 NOT NULL,
  hit_rate FLOAT64,
  n_pushes INT64 NOT NULL,
  n_pass INT64 NOT NULL,
  n_edge_3plus INT64 NOT NULL,
  n_hits_edge_3plus INT64 NOT NULL,
  hit_rate_edge_3plus FLOAT64,
  coverage FLOAT64,
  quantile_alpha FLOAT64,
  n_pending INT64 NOT NULL,
  n_void INT64 NOT NULL,
  in_sample BOOL NOT NULL,
  graded_at TIMESTAMP NOT NULL
);

-- Live evaluation in the registry. Not lifecycle state: updating these never bumps row_version,
-- so a grading run cannot make a concurrent enable/promote fail its version guard.
-- evaluation_n_edge_3plus (from 002) holds the 30-day edge-3+ bet count.
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_n INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_mae FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_hit_rate FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_hit_rate_edge_3plus FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_n_edge_3plus INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_n INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_mae FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_hit_rate FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_hit_rate_edge_3plus FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_n_edge_3plus INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_n INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_mae FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_hit_rate FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_hit_rate_edge_3plus FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS evaluation_as_of DATE;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS evaluation_updated_at TIMESTAMP;
