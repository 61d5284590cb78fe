-- 016: the market as it was at each moment (issue 20). A prop line is a series of snapshots, each
-- with the line and both sides' prices (American odds) at `captured_at`; a prediction is made as of
-- a moment and records the snapshot it used, so every money figure is settled at the line and price
-- that could be bet then. The opening and closing lines are derivable: the first and the last
-- snapshot before the game's `tip_off`.
--
-- Snapshots grow by ~450 props x ~6 captures a night: monthly partitions (as the other tables of a
-- few thousand rows a night), clustered on what point-in-time lookups filter on.
CREATE TABLE IF NOT EXISTS betting_line_snapshots (
  game_id STRING NOT NULL,
  game_date DATE NOT NULL,
  player_id INT64 NOT NULL,
  captured_at TIMESTAMP NOT NULL,
  line FLOAT64 NOT NULL,
  over_price INT64 NOT NULL,
  under_price INT64 NOT NULL
)
PARTITION BY DATE_TRUNC(game_date, MONTH)
CLUSTER BY player_id, captured_at;

-- New nullable columns: ADD COLUMN IF NOT EXISTS is idempotent, so a re-run after an interruption
-- (or a lost schema_migrations record) converges without a copy and loses nothing. Rows written
-- before this migration keep NULL: a game without a tip-off time, a prediction not made as of a
-- recorded moment (it is settled at BET_PRICE, its line's time unknown).
ALTER TABLE games ADD COLUMN IF NOT EXISTS tip_off TIMESTAMP;
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS as_of TIMESTAMP;
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS over_price INT64;
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS under_price INT64;
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS line_captured_at TIMESTAMP;
