-- 018: seasons of history (issue 20). The season tables hold several seasons: `modelctl data
-- generate --season S` replaces season S's rows only. Games, box scores, lines and snapshots are
-- told apart by their game's season (or its dates); teams and players carry their season here,
-- since a team's preseason ratings and a roster belong to one season. Rows written before this
-- migration keep NULL: they are the one season such a database held, and the next
-- `data generate` replaces them. ADD COLUMN IF NOT EXISTS is idempotent, so a re-run converges.
ALTER TABLE teams ADD COLUMN IF NOT EXISTS season STRING;
ALTER TABLE players ADD COLUMN IF NOT EXISTS season STRING;
