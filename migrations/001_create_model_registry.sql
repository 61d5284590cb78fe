-- 001: the legacy model_registry table, as the team has had it in BigQuery.
-- Columns match the old MONTHLY_MODELS entries; nothing here knows about families yet.
CREATE TABLE IF NOT EXISTS model_registry (
  model_id STRING NOT NULL,
  model_path STRING,
  train_start DATE,
  train_end DATE,
  eval_start DATE,
  eval_end DATE,
  backtest_mae FLOAT64,
  backtest_hit_rate_all FLOAT64,
  backtest_hit_rate_edge_3plus FLOAT64,
  backtest_n_edge_3plus INT64,
  description STRING,
  enabled BOOL,
  created_at TIMESTAMP,
  updated_at TIMESTAMP
);
