-- 017: a bet settled where it was placed (issue 20). Each graded row carries the line and prices
-- its prediction used (the snapshot at the prediction's `as_of`), what the bet won or lost at that
-- price (`units`: +100/|price| or +price/100 for a win, -1 for a loss, 0 for a push, NULL for no
-- bet), the closing market (the last snapshot before tip-off) and the bet's closing-line value in
-- points (closing line minus the bet line, signed toward the pick) and in no-vig probability (the
-- probability that the bet as placed wins, read from the closing market at the bet's line, minus its
-- no-vig probability at the bet; the formula lives in common/betting.py).
-- Per model per day, `clv_prob` is the mean probability CLV over the `n_clv` bets with both
-- markets (`clv` stays the mean in points) and `break_even` the mean break-even probability of the
-- day's bets at their prices, so that hit rates are held against what the prices bet need.
-- Rows graded before this migration keep NULL until regraded (`modelctl grade --date D --to D2`).
ALTER TABLE prediction_accuracy ADD COLUMN IF NOT EXISTS as_of TIMESTAMP;
ALTER TABLE prediction_accuracy ADD COLUMN IF NOT EXISTS over_price INT64;
ALTER TABLE prediction_accuracy ADD COLUMN IF NOT EXISTS under_price INT64;
ALTER TABLE prediction_accuracy ADD COLUMN IF NOT EXISTS units FLOAT64;
ALTER TABLE prediction_accuracy ADD COLUMN IF NOT EXISTS closing_line FLOAT64;
ALTER TABLE prediction_accuracy ADD COLUMN IF NOT EXISTS closing_over_price INT64;
ALTER TABLE prediction_accuracy ADD COLUMN IF NOT EXISTS closing_under_price INT64;
ALTER TABLE prediction_accuracy ADD COLUMN IF NOT EXISTS clv_points FLOAT64;
ALTER TABLE prediction_accuracy ADD COLUMN IF NOT EXISTS clv_prob FLOAT64;
ALTER TABLE model_performance_daily ADD COLUMN IF NOT EXISTS clv_prob FLOAT64;
ALTER TABLE model_performance_daily ADD COLUMN IF NOT EXISTS break_even FLOAT64;
