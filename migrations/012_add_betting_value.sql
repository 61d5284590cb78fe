-- 012: betting value per model (issue 14). Per model per day: units won at BET_PRICE, ROI (units
-- per bet), closing-line value (n_clv bets with both lines; clv = their mean move toward the pick,
-- in points) and, for quantile models, pinball loss; the registry's live 7/14/30-day columns carry
-- units, ROI and CLV. Days graded before this migration keep NULL there until they are regraded
-- (`modelctl grade --date D --to D2`).
--
-- model_performance_daily is rebuilt (partitioned and clustered as 010 left it) by create-copy-swap
-- rather than by ALTER TABLE ADD COLUMN alone: the BigQuery emulator runs the ALTER but its table
-- metadata keeps the old schema, so load jobs (how grading writes the table) cannot see the new
-- columns. On DuckDB the whole file and its schema_migrations row are one transaction. On BigQuery
-- (no DDL in a transaction) every step is safe to re-apply, at any point, even after the migration
-- was recorded (issue 19.2): the copy and the swap carry every column that exists (SELECT *, never a
-- fixed list, so a re-run keeps the units, ROI and CLV already graded, and columns a later migration
-- adds), the ADD COLUMNs only add what is missing, and the first CREATE restores an empty table if a
-- run died between the DROP and the swap (the aside copy, kept until the swap is done, holds the rows).
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
  graded_at TIMESTAMP NOT NULL,
  units FLOAT64,
  roi FLOAT64,
  n_clv INT64,
  clv FLOAT64,
  pinball FLOAT64
)
PARTITION BY DATE_TRUNC(game_date, MONTH)
CLUSTER BY system_id;

ALTER TABLE model_performance_daily ADD COLUMN IF NOT EXISTS units FLOAT64;
ALTER TABLE model_performance_daily ADD COLUMN IF NOT EXISTS roi FLOAT64;
ALTER TABLE model_performance_daily ADD COLUMN IF NOT EXISTS n_clv INT64;
ALTER TABLE model_performance_daily ADD COLUMN IF NOT EXISTS clv FLOAT64;
ALTER TABLE model_performance_daily ADD COLUMN IF NOT EXISTS pinball FLOAT64;
CREATE TABLE IF NOT EXISTS model_performance_daily_012 AS SELECT * FROM model_performance_daily;
DROP TABLE IF EXISTS model_performance_daily;
CREATE TABLE IF NOT EXISTS model_performance_daily
PARTITION BY DATE_TRUNC(game_date, MONTH)
CLUSTER BY system_id
AS SELECT * FROM model_performance_daily_012;
DROP TABLE IF EXISTS model_performance_daily_012;

-- The registry is only ever written by DML (never a load job), so ADD COLUMN serves it, as in 008.
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_units FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_roi FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_clv FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_units FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_roi FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_clv FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_units FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_roi FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_clv FLOAT64;
