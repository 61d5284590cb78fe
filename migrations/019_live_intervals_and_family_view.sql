-- 019: uncertainty beside every live figure, and "every V9 challenger" as one filter (issue 20).
--
-- The registry's rolling 7/14/30-day columns gain their counts and 95% intervals
-- (common/grading/uncertainty.py): the hit rate's Wilson interval and the break-even hit rate of the
-- prices bet (percent), ROI and units with a cluster-robust interval by date (n_dates dates with
-- bets), CLV in points and in no-vig probability with theirs (n_clv bets with a closing market).
-- Written by grading's DML only, so ADD COLUMN IF NOT EXISTS serves (as in 008 and 012); NULL means
-- unknown (no bets, a single date) until the next grading run.
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_n_bets INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_n_dates INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_break_even FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_hit_rate_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_hit_rate_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_roi_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_roi_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_units_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_units_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_n_clv INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_clv_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_clv_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_clv_prob FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_clv_prob_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_7d_clv_prob_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_n_bets INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_n_dates INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_break_even FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_hit_rate_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_hit_rate_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_roi_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_roi_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_units_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_units_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_n_clv INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_clv_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_clv_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_clv_prob FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_clv_prob_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_14d_clv_prob_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_n_bets INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_n_dates INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_break_even FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_hit_rate_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_hit_rate_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_roi_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_roi_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_units_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_units_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_n_clv INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_clv_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_clv_high FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_clv_prob FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_clv_prob_low FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS eval_30d_clv_prob_high FLOAT64;

-- model_predictions: every prediction row with its model's family and feature set from the registry
-- (NULL for a system_id the registry does not know). The legacy `system_id LIKE 'catboost_v9_train%'`
-- (every V9 challenger) no longer matches ids such as `catboost_v9_mae_train1102_0215`; here it is
-- `WHERE feature_set = 'v9' AND role != 'champion'` (a family: `model_family = 'v9_mae'`), and the
-- legacy `system_id = 'catboost_v9'` is the champion_predictions view (011). BigQuery needs
-- dataset-qualified names in a view body: the BigQuery engine qualifies them (common/sql.py:qualify_view).
CREATE OR REPLACE VIEW model_predictions AS
SELECT
  p.game_date,
  p.game_id,
  p.player_id,
  p.system_id,
  p.role,
  p.predicted_points,
  p.line,
  p.edge,
  p.recommendation,
  p.model_sha256,
  p.created_at,
  p.as_of,
  p.over_price,
  p.under_price,
  p.line_captured_at,
  r.model_family,
  r.feature_set
FROM player_prop_predictions AS p
LEFT JOIN model_registry AS r ON r.model_id = p.system_id;
