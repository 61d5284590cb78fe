-- 010: partition the tables that grow every night by game_date and cluster them on what the
-- queries filter on, so that a nightly grading, a compare or a rolling window reads the partitions
-- of the dates at work instead of every season kept (issue 16; sizing in bench/README.md).
--
-- Daily partitions for the two big tables (30 models x ~450 players = 13,500 rows a night each;
-- grading rewrites one date's partition), monthly ones for the small tables (under 1,000 rows a
-- night, where days would make thousands of tiny partitions). require_partition_filter on the two
-- big tables: a query without a game_date filter fails instead of scanning every season.
--
-- BigQuery cannot add partitioning to a table, so each one is recreated: copy the rows aside
-- (`<table>__v010`), drop the table, create it partitioned, copy the rows back, drop the copy.
-- The swap is drop-and-recreate rather than ALTER TABLE RENAME so that the same script runs on
-- bqemulator, whose catalog does not follow a rename. The schemas are those of 006/007/008, NOT
-- NULL included; the copy back is `SELECT *`, so a table that gained columns from a later
-- migration applied first fails loudly here instead of losing them (its rows stay in the copy).
--
-- Re-runnable after an interruption (the version is recorded only when every statement ran):
-- the aside copy is made once (IF NOT EXISTS), and the copy back fills only an empty table.
-- The one step that does not converge is a stop right after a DROP TABLE <table>: run the
-- statements of that table from its second CREATE on by hand, then `modelctl migrate` again.
--
-- DuckDB has no partitions: the embedded engine drops PARTITION BY, CLUSTER BY and the partition
-- options when it transpiles (common/sql_duckdb.py), and the same statements recreate each table
-- as it was.

-- player_prop_predictions
CREATE TABLE IF NOT EXISTS player_prop_predictions__v010 AS SELECT * FROM player_prop_predictions;
DROP TABLE IF EXISTS player_prop_predictions;
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
)
PARTITION BY game_date
CLUSTER BY system_id, player_id
OPTIONS (require_partition_filter = TRUE);
INSERT INTO player_prop_predictions
SELECT * FROM player_prop_predictions__v010
WHERE NOT EXISTS (SELECT 1 FROM player_prop_predictions WHERE game_date >= DATE '1900-01-01');
DROP TABLE IF EXISTS player_prop_predictions__v010;

-- prediction_accuracy
CREATE TABLE IF NOT EXISTS prediction_accuracy__v010 AS SELECT * FROM prediction_accuracy;
DROP TABLE IF EXISTS prediction_accuracy;
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
)
PARTITION BY game_date
CLUSTER BY system_id, player_id
OPTIONS (require_partition_filter = TRUE);
INSERT INTO prediction_accuracy
SELECT * FROM prediction_accuracy__v010
WHERE NOT EXISTS (SELECT 1 FROM prediction_accuracy WHERE game_date >= DATE '1900-01-01');
DROP TABLE IF EXISTS prediction_accuracy__v010;

-- model_performance_daily
CREATE TABLE IF NOT EXISTS model_performance_daily__v010 AS SELECT * FROM model_performance_daily;
DROP TABLE IF EXISTS model_performance_daily;
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
)
PARTITION BY DATE_TRUNC(game_date, MONTH)
CLUSTER BY system_id;
INSERT INTO model_performance_daily
SELECT * FROM model_performance_daily__v010
WHERE NOT EXISTS (SELECT 1 FROM model_performance_daily);
DROP TABLE IF EXISTS model_performance_daily__v010;

-- player_games
CREATE TABLE IF NOT EXISTS player_games__v010 AS SELECT * FROM player_games;
DROP TABLE IF EXISTS player_games;
CREATE TABLE IF NOT EXISTS player_games (
  game_id STRING NOT NULL,
  game_date DATE NOT NULL,
  player_id INT64 NOT NULL,
  team_id STRING NOT NULL,
  opponent_team_id STRING NOT NULL,
  is_home BOOL NOT NULL,
  starter BOOL NOT NULL,
  minutes FLOAT64 NOT NULL,
  points INT64 NOT NULL,
  fga INT64 NOT NULL,
  fgm INT64 NOT NULL,
  fg3a INT64 NOT NULL,
  fg3m INT64 NOT NULL,
  fta INT64 NOT NULL,
  ftm INT64 NOT NULL,
  status STRING NOT NULL
)
PARTITION BY DATE_TRUNC(game_date, MONTH)
CLUSTER BY player_id, game_id;
INSERT INTO player_games
SELECT * FROM player_games__v010
WHERE NOT EXISTS (SELECT 1 FROM player_games);
DROP TABLE IF EXISTS player_games__v010;

-- betting_lines
CREATE TABLE IF NOT EXISTS betting_lines__v010 AS SELECT * FROM betting_lines;
DROP TABLE IF EXISTS betting_lines;
CREATE TABLE IF NOT EXISTS betting_lines (
  game_id STRING NOT NULL,
  game_date DATE NOT NULL,
  player_id INT64 NOT NULL,
  opening_line FLOAT64,
  closing_line FLOAT64
)
PARTITION BY DATE_TRUNC(game_date, MONTH)
CLUSTER BY player_id, game_id;
INSERT INTO betting_lines
SELECT * FROM betting_lines__v010
WHERE NOT EXISTS (SELECT 1 FROM betting_lines);
DROP TABLE IF EXISTS betting_lines__v010;
