"""The dashboard's read-only queries that no other queries module holds (BigQuery SQL, named parameters).

Everything else the dashboard shows comes through the registry's, grading's, the worker's
and the notify store's own services and queries.
"""

from __future__ import annotations

from common import betting_sql as betting

_BREAK_EVEN = betting.sql_break_even(
    betting.sql_pick_price("recommendation", "over_price", "under_price", "@bet_price")
)

# One model's bets per edge bucket and side over @start..@end (out-of-sample dates: the caller's
# @start is after its training end): bets, hits and the sum of the bets' break-even probabilities at
# the prices bet (@bet_price where a row has none), the calibration table of a model page.
CALIBRATION = f"""
SELECT edge_bucket, recommendation, COUNTIF(is_correct IS NOT NULL) AS n_bets, COUNTIF(is_correct) AS n_hits,
  SUM(IF(is_correct IS NULL, NULL, {_BREAK_EVEN})) AS break_even_sum
FROM prediction_accuracy
WHERE system_id = @model_id AND game_date BETWEEN @start AND @end AND {betting.sql_is_call("recommendation")}
GROUP BY edge_bucket, recommendation"""

# The champion's picks of one date (champion_predictions: the rows of whichever model was champion
# that night) with their grading where the game is final; the player's name is read separately
# (common/alerts/queries.py:PLAYER_NAMES).
PICKS = """
SELECT p.player_id, p.system_id, p.line, p.over_price, p.under_price, p.as_of, p.predicted_points, p.edge,
  p.recommendation, a.actual_points, a.is_correct, a.is_push, a.units
FROM champion_predictions AS p
LEFT JOIN prediction_accuracy AS a
  ON a.game_date = p.game_date AND a.game_id = p.game_id AND a.player_id = p.player_id
  AND a.system_id = p.system_id AND a.game_date = @day
WHERE p.game_date = @day
ORDER BY ABS(p.edge) DESC, p.player_id"""

# The latest date the champion has picks for, from @since on (a constant bound: BigQuery prunes).
LATEST_PICKS = "SELECT MAX(game_date) AS latest FROM champion_predictions WHERE game_date >= @since"

# The latest game date before @today (the league's date) from @since on: the slate the now-strip
# checks. The games table is small (a row per game); @since bounds it to about a year.
LAST_GAME_DATE = "SELECT MAX(game_date) AS last FROM games WHERE game_date < @today AND game_date >= @since"

# How many predictions one game date has, and how many of them are graded: the now-strip's
# last-slate flag. Each count reads one date partition.
DAY_COUNTS = """
SELECT
  (SELECT COUNT(*) FROM player_prop_predictions WHERE game_date = @day) AS predicted,
  (SELECT COUNT(*) FROM prediction_accuracy WHERE game_date = @day) AS graded"""
