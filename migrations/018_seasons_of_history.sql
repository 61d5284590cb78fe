-- 018: seasons of history (issue 20), and the champion_predictions view with the as-of columns.
-- The season tables hold several seasons: `modelctl data generate --season S` replaces season S's
-- rows only. Games, box scores, lines and snapshots are
-- told apart by their game's season (or its dates); teams and players carry their season here,
-- since a team's preseason ratings and a roster belong to one season. Rows written before this
-- migration keep NULL: they are the one season such a database held, and the next
-- `data generate` replaces them. ADD COLUMN IF NOT EXISTS is idempotent, so a re-run converges.
ALTER TABLE teams ADD COLUMN IF NOT EXISTS season STRING;
ALTER TABLE players ADD COLUMN IF NOT EXISTS season STRING;

-- champion_predictions (011) shows what a prediction was made with since issue 20: its moment and
-- the snapshot it used, the same columns as player_prop_predictions again. CREATE OR REPLACE is
-- idempotent; BigQuery's view body is qualified with the dataset by the engine (qualify_view).
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
  created_at,
  as_of,
  over_price,
  under_price,
  line_captured_at
FROM player_prop_predictions
WHERE role = 'champion';
