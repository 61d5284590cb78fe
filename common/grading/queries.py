"""Every grading query, written once in BigQuery SQL with named parameters.

The row-level grading rules live in ``GRADE`` (and nowhere else):

* a prediction is graded when the player's ``player_games`` row says he played;
  no row yet → *pending*, a row with another status (injured, rest, dnp) →
  *void* (a sportsbook voids the prop): neither is graded, both are counted;
* ``absolute_error = |predicted - actual|`` for every graded row, PASS included;
* pushes, ``is_correct``, edge buckets and "edge 3+" follow the rule of
  ``common/betting.py``, whose SQL fragments the statements below are built
  from: a push is ``actual == line``; ``is_correct`` is set only for OVER/UNDER
  recommendations with a line that did not push; edge buckets on ``|edge|``
  (``<1``, ``1-2``, ``2-3``, ``3-5``, ``5+``, lower bound inclusive); "edge 3+"
  is the buckets from ``EDGE_3PLUS`` up.
"""

from __future__ import annotations

from common import betting


def _delete_regraded(table: str) -> str:
    """``table``'s rows on @dates, per (date, system_id) with predictions: the pairs grading writes again.

    A model whose predictions for a date are absent (not scored that day) keeps its rows. Both
    tables are bounded by @dates, so a partitioned table is pruned (and ``require_partition_filter``
    is satisfied) without relying on the correlation.
    """
    return f"""
DELETE FROM {table} AS t
WHERE t.game_date IN UNNEST(@dates)
  AND EXISTS (
    SELECT 1 FROM player_prop_predictions AS p
    WHERE p.game_date IN UNNEST(@dates) AND p.game_date = t.game_date AND p.system_id = t.system_id
  )"""


DELETE_ACCURACY = _delete_regraded("prediction_accuracy")
GRADE = f"""
INSERT INTO prediction_accuracy (
  game_date, game_id, player_id, system_id, role, predicted_points, line, edge, edge_bucket,
  recommendation, actual_points, absolute_error, is_push, is_correct, graded_at)
SELECT
  p.game_date, p.game_id, p.player_id, p.system_id, p.role, p.predicted_points, p.line, p.edge,
  {betting.sql_edge_bucket("p.edge")},
  p.recommendation,
  g.points,
  ABS(p.predicted_points - g.points),
  {betting.sql_is_push("g.points", "p.line")},
  {betting.sql_is_correct("p.recommendation", "g.points", "p.line")},
  @graded_at
FROM player_prop_predictions AS p
JOIN player_games AS g
  ON g.game_id = p.game_id AND g.player_id = p.player_id AND g.game_date = p.game_date
WHERE p.game_date IN UNNEST(@dates) AND g.game_date IN UNNEST(@dates) AND g.status = 'played'
  AND {betting.sql_is_finite("p.predicted_points")}"""

# Per model per day, for the dates just graded: what was graded (from the rows GRADE wrote) and
# what could not be, because the game has no result yet (pending) or the player did not play (void).
# Betting value: units at @payout (common/betting.py, from BET_PRICE), closing-line value of the bets
# against betting_lines (opening -> closing), and the shortfall sum pinball loss is built from.
_CLV = betting.sql_clv("is_correct", "recommendation", "l.opening_line", "l.closing_line")
DAILY_INPUTS = f"""
WITH predicted AS (
  SELECT
    p.game_date, p.system_id, MAX(p.role) AS role,
    COUNTIF(g.player_id IS NULL) AS n_pending,
    COUNTIF(g.player_id IS NOT NULL AND g.status != 'played') AS n_void
  FROM player_prop_predictions AS p
  LEFT JOIN player_games AS g
    ON g.game_id = p.game_id AND g.player_id = p.player_id AND g.game_date = p.game_date
    AND g.game_date IN UNNEST(@dates)
  WHERE p.game_date IN UNNEST(@dates) AND {betting.sql_is_finite("p.predicted_points")}
  GROUP BY p.game_date, p.system_id
),
graded AS (
  SELECT
    a.game_date, system_id, COUNT(*) AS n,
    AVG(absolute_error) AS mae, AVG(predicted_points - actual_points) AS bias,
    COUNTIF(is_correct IS NOT NULL) AS n_bets, COUNTIF(is_correct) AS n_hits,
    COUNTIF(is_push AND {betting.sql_is_call("recommendation")}) AS n_pushes,
    COUNTIF(NOT ({betting.sql_is_call(f"COALESCE(recommendation, '{betting.PASS}')")})) AS n_pass,
    COUNTIF(is_correct IS NOT NULL AND {betting.sql_edge_3plus("edge_bucket")}) AS n_edge_3plus,
    COUNTIF(is_correct AND {betting.sql_edge_3plus("edge_bucket")}) AS n_hits_edge_3plus,
    AVG(IF(actual_points < predicted_points, 1.0, 0.0)) AS share_below,
    AVG(IF(actual_points < predicted_points, actual_points - predicted_points, 0.0)) AS shortfall,
    SUM({betting.sql_units("is_correct", "@payout")}) AS units,
    COUNT({_CLV}) AS n_clv, SUM({_CLV}) AS clv_sum
  FROM prediction_accuracy AS a
  LEFT JOIN betting_lines AS l
    ON l.game_id = a.game_id AND l.player_id = a.player_id AND l.game_date = a.game_date
    AND l.game_date IN UNNEST(@dates)
  WHERE a.game_date IN UNNEST(@dates)
  GROUP BY a.game_date, system_id
)
SELECT
  u.game_date, u.system_id, u.role, u.n_pending, u.n_void,
  COALESCE(g.n, 0) AS n, g.mae, g.bias, COALESCE(g.n_bets, 0) AS n_bets, COALESCE(g.n_hits, 0) AS n_hits,
  COALESCE(g.n_pushes, 0) AS n_pushes, COALESCE(g.n_pass, 0) AS n_pass,
  COALESCE(g.n_edge_3plus, 0) AS n_edge_3plus, COALESCE(g.n_hits_edge_3plus, 0) AS n_hits_edge_3plus,
  g.share_below, g.shortfall, COALESCE(g.units, 0.0) AS units, COALESCE(g.n_clv, 0) AS n_clv, g.clv_sum
FROM predicted AS u
LEFT JOIN graded AS g ON g.game_date = u.game_date AND g.system_id = u.system_id
ORDER BY u.game_date, u.system_id"""

# The daily rows DAILY_INPUTS recomputes: one per (date, system_id) with predictions.
DELETE_DAILY = _delete_regraded("model_performance_daily")
DAILY_COLUMNS = (
    "game_date", "system_id", "role", "n", "mae", "bias", "n_bets", "n_hits", "hit_rate", "n_pushes", "n_pass",
    "n_edge_3plus", "n_hits_edge_3plus", "hit_rate_edge_3plus", "coverage", "quantile_alpha", "n_pending",
    "n_void", "in_sample", "graded_at", "units", "roi", "n_clv", "clv", "pinball",
)  # fmt: skip

# The latest graded date (the end of every rolling window), looked for from @since on: the dates at
# work, or the registry's last evaluation date (LAST_EVALUATED). A bound that is a parameter, never a
# subquery, because BigQuery prunes partitions only on constant filters.
LATEST_GRADED = "SELECT MAX(game_date) AS latest FROM prediction_accuracy WHERE game_date >= @since"
LAST_EVALUATED = "SELECT MAX(evaluation_as_of) AS as_of FROM model_registry"
# The @days days up to @end (the latest graded date).
DAILY_RECENT = f"""
SELECT {", ".join(DAILY_COLUMNS)} FROM model_performance_daily
WHERE game_date <= @end AND game_date > DATE_SUB(@end, INTERVAL @days DAY)
ORDER BY game_date, system_id"""
DAILY_BETWEEN = f"""
SELECT {", ".join(DAILY_COLUMNS)} FROM model_performance_daily
WHERE game_date BETWEEN @start AND @end
ORDER BY game_date, system_id"""

# Both models graded on the same player-game after @after (both training ends), over the last @days
# days they share up to @end (the latest graded date), or every shared day when @days is NULL (the
# whole monitoring sequence): the paired sample a comparison stands on (``_a`` is the challenger).
# Both sides and the lines carry constant date bounds, so all three prune to their partitions.
# outcome: betting.WON / LOST / NO_BET (PASS, push, no line); call: betting.CALL_OVER / CALL_UNDER / NO_CALL;
# clv: closing-line value of a bet (NULL for no bet or no opening/closing line).
PAIRED = f"""
WITH pairs AS (
  SELECT
    a.game_date, a.game_id, a.player_id,
    a.absolute_error AS err_a, b.absolute_error AS err_b,
    {betting.sql_outcome("a.is_correct")} AS outcome_a,
    {betting.sql_outcome("b.is_correct")} AS outcome_b,
    {betting.sql_call("a.recommendation")} AS call_a,
    {betting.sql_call("b.recommendation")} AS call_b,
    {betting.sql_edge_3plus("a.edge_bucket")} AS edge3_a,
    {betting.sql_edge_3plus("b.edge_bucket")} AS edge3_b,
    {betting.sql_clv("a.is_correct", "a.recommendation", "l.opening_line", "l.closing_line")} AS clv_a,
    {betting.sql_clv("b.is_correct", "b.recommendation", "l.opening_line", "l.closing_line")} AS clv_b
  FROM prediction_accuracy AS a
  JOIN prediction_accuracy AS b
    ON b.game_date = a.game_date AND b.game_id = a.game_id AND b.player_id = a.player_id
  LEFT JOIN betting_lines AS l
    ON l.game_id = a.game_id AND l.player_id = a.player_id AND l.game_date = a.game_date
    AND l.game_date > @after AND l.game_date <= @end
  WHERE a.system_id = @challenger AND b.system_id = @champion
    AND a.game_date > @after AND a.game_date <= @end AND b.game_date > @after AND b.game_date <= @end
    AND (@days IS NULL OR (a.game_date > DATE_SUB(@end, INTERVAL @days DAY)
                           AND b.game_date > DATE_SUB(@end, INTERVAL @days DAY)))
)
SELECT game_date, err_a, err_b, outcome_a, outcome_b, call_a, call_b, edge3_a, edge3_b, clv_a, clv_b
FROM pairs
WHERE @days IS NULL OR game_date > (SELECT DATE_SUB(MAX(game_date), INTERVAL @days DAY) FROM pairs)
ORDER BY game_date, game_id, player_id"""

# Live evaluation: evaluation columns only; row_version and updated_at stay (not lifecycle state).
UPDATE_EVALUATION = """
UPDATE model_registry SET
  eval_7d_n = @eval_7d_n, eval_7d_mae = @eval_7d_mae, eval_7d_hit_rate = @eval_7d_hit_rate,
  eval_7d_hit_rate_edge_3plus = @eval_7d_hit_rate_edge_3plus, eval_7d_n_edge_3plus = @eval_7d_n_edge_3plus,
  eval_14d_n = @eval_14d_n, eval_14d_mae = @eval_14d_mae, eval_14d_hit_rate = @eval_14d_hit_rate,
  eval_14d_hit_rate_edge_3plus = @eval_14d_hit_rate_edge_3plus, eval_14d_n_edge_3plus = @eval_14d_n_edge_3plus,
  eval_30d_n = @eval_30d_n, eval_30d_mae = @eval_30d_mae, eval_30d_hit_rate = @eval_30d_hit_rate,
  eval_30d_hit_rate_edge_3plus = @eval_30d_hit_rate_edge_3plus, evaluation_n_edge_3plus = @eval_30d_n_edge_3plus,
  eval_7d_units = @eval_7d_units, eval_7d_roi = @eval_7d_roi, eval_7d_clv = @eval_7d_clv,
  eval_14d_units = @eval_14d_units, eval_14d_roi = @eval_14d_roi, eval_14d_clv = @eval_14d_clv,
  eval_30d_units = @eval_30d_units, eval_30d_roi = @eval_30d_roi, eval_30d_clv = @eval_30d_clv,
  evaluation_as_of = @evaluation_as_of, evaluation_updated_at = @evaluation_updated_at
WHERE model_id = @model_id"""

EVALUATION_COLUMNS = (
    "model_id", "eval_7d_n", "eval_7d_mae", "eval_7d_hit_rate", "eval_7d_hit_rate_edge_3plus",
    "eval_7d_n_edge_3plus", "eval_14d_n", "eval_14d_mae", "eval_14d_hit_rate", "eval_14d_hit_rate_edge_3plus",
    "eval_14d_n_edge_3plus", "eval_30d_n", "eval_30d_mae", "eval_30d_hit_rate", "eval_30d_hit_rate_edge_3plus",
    "evaluation_n_edge_3plus", "evaluation_as_of", "evaluation_updated_at", "eval_7d_units", "eval_7d_roi",
    "eval_7d_clv", "eval_14d_units", "eval_14d_roi", "eval_14d_clv", "eval_30d_units", "eval_30d_roi", "eval_30d_clv",
)  # fmt: skip
READ_EVALUATION = f"SELECT {', '.join(EVALUATION_COLUMNS)} FROM model_registry WHERE model_id IN UNNEST(@model_ids)"

# The verdict's CLV series (issue 21): each model's daily mean no-vig probability CLV per bet
# (model_performance_daily.clv_prob, migration 017) on the dates both have it, after @after.
DAILY_CLV_PAIRS = """
SELECT a.game_date, a.clv_prob AS clv_a, b.clv_prob AS clv_b
FROM model_performance_daily AS a
JOIN model_performance_daily AS b ON b.game_date = a.game_date
WHERE a.system_id = @challenger AND b.system_id = @champion
  AND a.game_date > @after AND b.game_date > @after
  AND a.clv_prob IS NOT NULL AND b.clv_prob IS NOT NULL
ORDER BY a.game_date"""
