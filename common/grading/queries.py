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

from common import betting, betting_sql


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
# The closing market of each player-game of @dates: its last snapshot at or before the game's tip-off
# (the last of the date where the tip-off is unknown), k = 1. Snapshots reach the table after the
# predictions were validated and made, so a closing price that is not American odds is no price.
_CLOSING = f"""(
  SELECT s.game_id, s.game_date, s.player_id, s.line,
    {betting_sql.sql_odds("s.over_price")} AS over_price, {betting_sql.sql_odds("s.under_price")} AS under_price,
    ROW_NUMBER() OVER (PARTITION BY s.game_date, s.game_id, s.player_id ORDER BY s.captured_at DESC) AS k
  FROM betting_line_snapshots AS s
  LEFT JOIN games AS t ON t.game_id = s.game_id AND t.game_date = s.game_date AND t.game_date IN UNNEST(@dates)
  WHERE s.game_date IN UNNEST(@dates) AND (t.tip_off IS NULL OR s.captured_at <= t.tip_off)
)"""
_IS_CORRECT = betting_sql.sql_is_correct("p.recommendation", "g.points", "p.line")
# The bet's prices (@bet_price where the prediction row has none) and the closing market's.
_AT_BET = (betting_sql.sql_price("p.over_price", "@bet_price"), betting_sql.sql_price("p.under_price", "@bet_price"))
_AT_CLOSE = ("CAST(c.over_price AS FLOAT64)", "CAST(c.under_price AS FLOAT64)")
_CLV_PROB = betting_sql.sql_clv_prob(_IS_CORRECT, "p.recommendation", ("p.line", "c.line"), _AT_BET, _AT_CLOSE)
GRADE = f"""
INSERT INTO prediction_accuracy (
  game_date, game_id, player_id, system_id, role, predicted_points, line, edge, edge_bucket,
  recommendation, actual_points, absolute_error, is_push, is_correct, graded_at,
  as_of, over_price, under_price, units, closing_line, closing_over_price, closing_under_price, clv_points, clv_prob)
SELECT
  p.game_date, p.game_id, p.player_id, p.system_id, p.role, p.predicted_points, p.line, p.edge,
  {betting_sql.sql_edge_bucket("p.edge")},
  p.recommendation,
  g.points,
  ABS(p.predicted_points - g.points),
  {betting_sql.sql_is_push("g.points", "p.line")},
  {_IS_CORRECT},
  @graded_at,
  p.as_of, p.over_price, p.under_price,
  {betting_sql.sql_settled_units(_IS_CORRECT, betting_sql.sql_pick_price("p.recommendation", *_AT_BET, "@bet_price"))},
  c.line, c.over_price, c.under_price,
  {betting_sql.sql_clv(_IS_CORRECT, "p.recommendation", "p.line", "c.line")},
  {_CLV_PROB}
FROM player_prop_predictions AS p
JOIN player_games AS g
  ON g.game_id = p.game_id AND g.player_id = p.player_id AND g.game_date = p.game_date
LEFT JOIN {_CLOSING} AS c
  ON c.game_id = p.game_id AND c.player_id = p.player_id AND c.game_date = p.game_date AND c.k = 1
WHERE p.game_date IN UNNEST(@dates) AND g.game_date IN UNNEST(@dates) AND g.status = 'played'
  AND {betting_sql.sql_is_finite("p.predicted_points")}"""

# Per model per day, for the dates just graded: what was graded (from the rows GRADE wrote) and
# what could not be, because the game has no result yet (pending) or the player did not play (void).
# Betting value from the settled rows: units at each bet's own price, the mean break-even probability
# of the bets at their prices (@bet_price where a row has none), closing-line value in points and in
# no-vig probability over the n_clv bets with a closing line (probability: the n_clv_prob of them whose
# closing prices are American odds), and the shortfall sum pinball loss
# is built from.
_BET_PRICE = betting_sql.sql_pick_price("recommendation", "over_price", "under_price", "@bet_price")
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
  WHERE p.game_date IN UNNEST(@dates) AND {betting_sql.sql_is_finite("p.predicted_points")}
  GROUP BY p.game_date, p.system_id
),
graded AS (
  SELECT
    a.game_date, system_id, COUNT(*) AS n,
    AVG(absolute_error) AS mae, AVG(predicted_points - actual_points) AS bias,
    COUNTIF(is_correct IS NOT NULL) AS n_bets, COUNTIF(is_correct) AS n_hits,
    COUNTIF(is_push AND {betting_sql.sql_is_call("recommendation")}) AS n_pushes,
    COUNTIF(NOT ({betting_sql.sql_is_call(f"COALESCE(recommendation, '{betting.PASS}')")})) AS n_pass,
    COUNTIF(is_correct IS NOT NULL AND {betting_sql.sql_edge_3plus("edge_bucket")}) AS n_edge_3plus,
    COUNTIF(is_correct AND {betting_sql.sql_edge_3plus("edge_bucket")}) AS n_hits_edge_3plus,
    AVG(IF(actual_points < predicted_points, 1.0, 0.0)) AS share_below,
    AVG(IF(actual_points < predicted_points, actual_points - predicted_points, 0.0)) AS shortfall,
    SUM(IF(is_correct IS NULL, 0.0, units)) AS units,
    AVG(IF(is_correct IS NULL, NULL, {betting_sql.sql_break_even(_BET_PRICE)})) AS break_even,
    COUNTIF(is_correct IS NOT NULL AND clv_points IS NOT NULL) AS n_clv,
    SUM(IF(is_correct IS NULL, NULL, clv_points)) AS clv_sum,
    SUM(IF(is_correct IS NULL OR clv_points IS NULL, NULL, clv_prob)) AS clv_prob_sum,
    COUNTIF(is_correct IS NOT NULL AND clv_points IS NOT NULL AND clv_prob IS NOT NULL) AS n_clv_prob
  FROM prediction_accuracy AS a
  WHERE a.game_date IN UNNEST(@dates)
  GROUP BY a.game_date, system_id
)
SELECT
  u.game_date, u.system_id, u.role, u.n_pending, u.n_void,
  COALESCE(g.n, 0) AS n, g.mae, g.bias, COALESCE(g.n_bets, 0) AS n_bets, COALESCE(g.n_hits, 0) AS n_hits,
  COALESCE(g.n_pushes, 0) AS n_pushes, COALESCE(g.n_pass, 0) AS n_pass,
  COALESCE(g.n_edge_3plus, 0) AS n_edge_3plus, COALESCE(g.n_hits_edge_3plus, 0) AS n_hits_edge_3plus,
  g.share_below, g.shortfall, COALESCE(g.units, 0.0) AS units, g.break_even, COALESCE(g.n_clv, 0) AS n_clv,
  g.clv_sum, g.clv_prob_sum, COALESCE(g.n_clv_prob, 0) AS n_clv_prob
FROM predicted AS u
LEFT JOIN graded AS g ON g.game_date = u.game_date AND g.system_id = u.system_id
ORDER BY u.game_date, u.system_id"""

# The daily rows DAILY_INPUTS recomputes: one per (date, system_id) with predictions.
DELETE_DAILY = _delete_regraded("model_performance_daily")
DAILY_COLUMNS = (
    "game_date", "system_id", "role", "n", "mae", "bias", "n_bets", "n_hits", "hit_rate", "n_pushes", "n_pass",
    "n_edge_3plus", "n_hits_edge_3plus", "hit_rate_edge_3plus", "coverage", "quantile_alpha", "n_pending",
    "n_void", "in_sample", "graded_at", "units", "roi", "n_clv", "clv", "pinball", "clv_prob", "break_even",
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
# Both sides carry constant date bounds, so both prune to their partitions.
# outcome: betting.WON / LOST / NO_BET (PASS, push, no line); call: betting.CALL_OVER / CALL_UNDER / NO_CALL;
# break_even: the break-even probability of the bet at its price (@bet_price where the row has none);
# units: what the pick won at its own price (NULL for no bet, or a row graded before migration 017);
# clv / clv_prob: closing-line value of a bet in points / no-vig probability (NULL without a closing market).
def _pick(side: str) -> str:
    return betting_sql.sql_pick_price(
        f"{side}.recommendation", f"{side}.over_price", f"{side}.under_price", "@bet_price"
    )


def _pairs(challenger: str) -> str:
    """The paired rows of ``a.system_id {challenger}`` against @champion (the CTE ``pairs``)."""
    return f"""
WITH pairs AS (
  SELECT
    a.system_id AS challenger, a.game_date, a.game_id, a.player_id,
    a.absolute_error AS err_a, b.absolute_error AS err_b,
    {betting_sql.sql_outcome("a.is_correct")} AS outcome_a,
    {betting_sql.sql_outcome("b.is_correct")} AS outcome_b,
    {betting_sql.sql_call("a.recommendation")} AS call_a,
    {betting_sql.sql_call("b.recommendation")} AS call_b,
    {betting_sql.sql_edge_3plus("a.edge_bucket")} AS edge3_a,
    {betting_sql.sql_edge_3plus("b.edge_bucket")} AS edge3_b,
    IF(a.is_correct IS NULL, NULL, a.clv_points) AS clv_a,
    IF(b.is_correct IS NULL, NULL, b.clv_points) AS clv_b,
    IF(a.is_correct IS NULL OR a.clv_points IS NULL, NULL, a.clv_prob) AS clv_prob_a,
    IF(b.is_correct IS NULL OR b.clv_points IS NULL, NULL, b.clv_prob) AS clv_prob_b,
    IF(a.is_correct IS NULL, NULL, a.units) AS units_a,
    IF(b.is_correct IS NULL, NULL, b.units) AS units_b,
    IF(a.is_correct IS NULL, NULL, {betting_sql.sql_break_even(_pick("a"))}) AS break_even_a,
    IF(b.is_correct IS NULL, NULL, {betting_sql.sql_break_even(_pick("b"))}) AS break_even_b
  FROM prediction_accuracy AS a
  JOIN prediction_accuracy AS b
    ON b.game_date = a.game_date AND b.game_id = a.game_id AND b.player_id = a.player_id
  WHERE a.system_id {challenger} AND b.system_id = @champion
    AND a.game_date > @after AND a.game_date <= @end AND b.game_date > @after AND b.game_date <= @end
    AND (@days IS NULL OR (a.game_date > DATE_SUB(@end, INTERVAL @days DAY)
                           AND b.game_date > DATE_SUB(@end, INTERVAL @days DAY)))
)"""


_PAIRED_SELECT = """game_date, err_a, err_b, outcome_a, outcome_b, call_a, call_b, edge3_a, edge3_b, clv_a, clv_b,
  clv_prob_a, clv_prob_b, units_a, units_b, break_even_a, break_even_b"""
PAIRED = f"""{_pairs("= @challenger")}
SELECT {_PAIRED_SELECT}
FROM pairs
WHERE @days IS NULL OR game_date > (SELECT DATE_SUB(MAX(game_date), INTERVAL @days DAY) FROM pairs)
ORDER BY game_date, game_id, player_id"""
# Every challenger in @challengers against @champion over every shared day after @after (the
# earliest of their bounds; each caller keeps its own challenger's dates after its own bound): the
# dashboard's verdicts of all challengers in one read (@days is NULL: the whole monitoring sequence).
PAIRED_MANY = f"""{_pairs("IN UNNEST(@challengers)")}
SELECT challenger, {_PAIRED_SELECT}
FROM pairs
ORDER BY challenger, game_date, game_id, player_id"""

# Live evaluation: evaluation columns only; row_version and updated_at stay (not lifecycle state).
# Per window: the figures (012 and before) and their counts and 95% intervals (019, uncertainty.py).
_BASE = ("n", "mae", "hit_rate", "hit_rate_edge_3plus", "n_edge_3plus", "units", "roi", "clv")
LIVE_INTERVALS = ("n_bets", "n_dates", "break_even", "hit_rate_low", "hit_rate_high", "roi_low", "roi_high",
                  "units_low", "units_high", "n_clv", "clv_low", "clv_high", "clv_prob", "clv_prob_low",
                  "clv_prob_high")  # fmt: skip
_WINDOWS = (7, 14, 30)


def _column(window: int, figure: str) -> str:
    """The registry column of a window's figure (the 30-day edge-3+ count has its historic name)."""
    return "evaluation_n_edge_3plus" if (window, figure) == (30, "n_edge_3plus") else f"eval_{window}d_{figure}"


_SETS = [(_column(w, f), f"eval_{w}d_{f}") for w in _WINDOWS for f in (*_BASE, *LIVE_INTERVALS)]
UPDATE_EVALUATION = f"""
UPDATE model_registry SET
  {", ".join(f"{column} = @{param}" for column, param in _SETS)},
  evaluation_as_of = @evaluation_as_of, evaluation_updated_at = @evaluation_updated_at
WHERE model_id = @model_id"""

EVALUATION_COLUMNS = ("model_id", *(column for column, _ in _SETS), "evaluation_as_of", "evaluation_updated_at")
READ_EVALUATION = f"SELECT {', '.join(EVALUATION_COLUMNS)} FROM model_registry WHERE model_id IN UNNEST(@model_ids)"


# The verdict's CLV series (issue 21): each model's daily mean no-vig probability CLV per bet
# (model_performance_daily.clv_prob, migration 017) on the dates both have it, after @after.
def _daily_clv_pairs(challenger: str) -> str:
    return f"""
SELECT a.system_id AS challenger, a.game_date, a.clv_prob AS clv_a, b.clv_prob AS clv_b
FROM model_performance_daily AS a
JOIN model_performance_daily AS b ON b.game_date = a.game_date
WHERE a.system_id {challenger} AND b.system_id = @champion
  AND a.game_date > @after AND b.game_date > @after
  AND a.clv_prob IS NOT NULL AND b.clv_prob IS NOT NULL
ORDER BY a.system_id, a.game_date"""


DAILY_CLV_PAIRS = _daily_clv_pairs("= @challenger")
# The same for every challenger in @challengers after the earliest of their bounds (PAIRED_MANY).
DAILY_CLV_PAIRS_MANY = _daily_clv_pairs("IN UNNEST(@challengers)")
