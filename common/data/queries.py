"""Every season-table query, written once in BigQuery SQL.

The season tables hold seasons of history: writing season S replaces S's rows only
(``REPLACE_SEASON``: by the season label of teams, players and games, by S's date window for the
box scores, lines and snapshots, whose seasons never overlap); a load reads every season in a
stable order (``LOAD``). Both are generated from ``TABLES``, the one list of each table's columns
and load order.
"""

from __future__ import annotations

from common.features import HISTORY_COLUMNS, TARGET_COLUMNS

SNAPSHOT_COLUMNS = ("game_id", "game_date", "player_id", "captured_at", "line", "over_price", "under_price")

# table → (columns in migration order, ORDER BY of a load)
TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "teams": (("team_id", "name", "def_rating", "off_rating", "pace", "season"), "season, team_id"),
    "players": (
        ("player_id", "player_name", "team_id", "role", "base_scoring", "base_minutes", "season"),
        "season, player_id",
    ),
    "games": (
        ("game_id", "game_date", "season", "home_team_id", "away_team_id", "tip_off"),
        "game_date, game_id",
    ),
    "player_games": (HISTORY_COLUMNS, "game_date, game_id, team_id, player_id"),
    "betting_lines": (
        ("game_id", "game_date", "player_id", "opening_line", "closing_line"),
        "game_date, game_id, player_id",
    ),
    "betting_line_snapshots": (SNAPSHOT_COLUMNS, "game_date, game_id, player_id, captured_at"),
}

_BY_LABEL = "DELETE FROM {table} WHERE season = @season OR season IS NULL"
_BY_DATES = "DELETE FROM {table} WHERE game_date BETWEEN @first_date AND @last_date"
# Writing season S replaces S's rows (and rows from before migration 018, which have no season).
REPLACE_SEASON: dict[str, str] = {
    table: (_BY_LABEL if "season" in columns else _BY_DATES).format(table=table)
    for table, (columns, _) in TABLES.items()
}
REPLACE_SEASON["games"] = "DELETE FROM games WHERE season = @season"
LOAD: dict[str, str] = {
    table: f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}" for table, (columns, order) in TABLES.items()
}

DATA_RANGE = """
SELECT MIN(pg.game_date) AS first_date, MAX(pg.game_date) AS last_date, COUNT(*) AS played,
       (SELECT COUNT(*) FROM betting_lines) AS lines, (SELECT MAX(season) FROM games) AS season,
       (SELECT COUNT(DISTINCT season) FROM games) AS seasons
FROM player_games AS pg
WHERE pg.status = 'played'"""

# -- a slate's feature inputs: only the rows its features read (common.data.slate) -----------------
# The slate: the players listed for @day who are not ruled out (injured or resting).
_SLATE = "status NOT IN ('injured', 'rest')"
_PG = ", ".join(HISTORY_COLUMNS)
SLATE_TARGETS = f"""
SELECT {", ".join(TARGET_COLUMNS)} FROM player_games
WHERE game_date = @day AND {_SLATE}
ORDER BY game_id, team_id, player_id"""
# Whether the season tables hold any data (asked only when a date has no slate).
# The season's calendar around @day: why a date has no slate (common.worker.predictions.no_games).
GAME_CALENDAR = """
SELECT MIN(game_date) AS first_date, MAX(game_date) AS last_date,
  MAX(IF(game_date < @day, game_date, NULL)) AS before_date,
  MIN(IF(game_date > @day, game_date, NULL)) AS after_date,
  COUNTIF(game_date = @day) AS on_day
FROM games"""
HAS_SEASON_DATA = "SELECT EXISTS(SELECT 1 FROM games) AND EXISTS(SELECT 1 FROM player_games) AS has_data"
# The slate's games on @day (their tip-offs set the as-of moment).
SLATE_GAMES = "SELECT game_id, game_date, tip_off FROM games WHERE game_date = @day"
# Box-score rows of the slate's players, dated up to @last (the last final date before the slate):
# each one's last @games played games (the longest "last N" window) and every row not played since
# @recent (the availability counts). Each row also carries what the engine sums for the player at
# his last played game by @last (the columns of common.features.GIVEN_COLUMNS):
# * points_ewm_10: the EWM's weights @decay^(back - 1) over his last @ewm_games played games, back = 1
#   for the last (common.features.windows.Windows.ewm is the same sum over rows in memory);
# * the season to date (@season_start to @last): points, minutes and played games, and points and
#   games at home and away (0 and 0 without a game), so the season's rows are never read.
# A game's ``back`` (its place from the end of the player's played games, by date then game id) is
# found without sorting his games (a window over every game of a long history is what grew with
# it, issue 22): his games are grouped into blocks of BLOCK_DAYS days; per block a count and a
# bit mask of the days played (hash aggregates); a running count over the blocks (a window over a
# few rows per player) gives the games after each block, and a game's back is that plus the bits of
# its block's mask from its day on. Only blocks with fewer than @ewm_games games after them are
# joined back. A block with two played games of his on one day (its count is not its mask's bit
# count) ranks its games by date and game id instead: the same back, always.
# The wide rows are read once, for what is kept.
BLOCK_DAYS = 62  # days per block: bit 0 to 61 of an INT64 mask, the sign bit never set
_DAY = "DATE_DIFF(game_date, DATE '1900-01-01', DAY)"  # >= 0 for any box score
SLATE_HISTORY = f"""
WITH slate AS (
  SELECT DISTINCT player_id FROM player_games WHERE game_date = @day AND {_SLATE}
),
played AS (
  SELECT player_id, game_id, game_date, points, DIV({_DAY}, {BLOCK_DAYS}) AS block, MOD({_DAY}, {BLOCK_DAYS}) AS bit
  FROM player_games
  WHERE status = 'played' AND game_date <= @last AND player_id IN (SELECT player_id FROM slate)
),
blocks AS (
  SELECT player_id, block, COUNT(*) AS n, BIT_OR(CAST(1 AS INT64) << bit) AS days
  FROM played GROUP BY player_id, block
),
later AS (
  SELECT player_id, block, n, days, SUM(n) OVER (PARTITION BY player_id ORDER BY block DESC) - n AS after
  FROM blocks
),
near AS (
  SELECT p.player_id, p.game_id, p.game_date, p.points, p.bit, l.block, l.n, l.days, l.after
  FROM played AS p JOIN later AS l ON l.player_id = p.player_id AND l.block = p.block
  WHERE l.after < @ewm_games
),
ranked AS (
  SELECT player_id, game_id, game_date, points, after + BIT_COUNT(days >> bit) AS back
  FROM near WHERE n = BIT_COUNT(days)
  UNION ALL
  SELECT player_id, game_id, game_date, points,
         after + ROW_NUMBER() OVER (PARTITION BY player_id, block ORDER BY game_date DESC, game_id DESC) AS back
  FROM near WHERE n != BIT_COUNT(days)
),
ewm AS (
  SELECT player_id, SUM(points * POW(@decay, back - 1)) / SUM(POW(@decay, back - 1)) AS points_ewm_10
  FROM ranked WHERE back <= @ewm_games GROUP BY player_id
),
season AS (
  SELECT player_id, SUM(points) AS season_points, SUM(minutes) AS season_minutes, COUNT(*) AS season_games,
         SUM(IF(is_home, points, 0)) AS home_points, SUM(IF(is_home, 1, 0)) AS home_games,
         SUM(IF(is_home, 0, points)) AS away_points, SUM(IF(is_home, 0, 1)) AS away_games
  FROM player_games
  WHERE status = 'played' AND game_date BETWEEN @season_start AND @last
    AND player_id IN (SELECT player_id FROM slate)
  GROUP BY player_id
),
latest AS (SELECT player_id, game_id, game_date FROM ranked WHERE back <= @games),
kept AS (
  SELECT {", ".join(f"pg.{c}" for c in HISTORY_COLUMNS)} FROM player_games AS pg
  JOIN latest ON latest.player_id = pg.player_id AND latest.game_date = pg.game_date AND latest.game_id = pg.game_id
  UNION ALL
  SELECT {_PG} FROM player_games
  WHERE status != 'played' AND game_date BETWEEN @recent AND @last AND player_id IN (SELECT player_id FROM slate)
)
SELECT {", ".join(f"pg.{c}" for c in HISTORY_COLUMNS)}, ewm.points_ewm_10,
       COALESCE(season.season_points, 0) AS season_points, COALESCE(season.season_minutes, 0) AS season_minutes,
       COALESCE(season.season_games, 0) AS season_games,
       COALESCE(season.home_points, 0) AS home_points, COALESCE(season.home_games, 0) AS home_games,
       COALESCE(season.away_points, 0) AS away_points, COALESCE(season.away_games, 0) AS away_games
FROM kept AS pg
LEFT JOIN ewm ON ewm.player_id = pg.player_id
LEFT JOIN season ON season.player_id = pg.player_id
ORDER BY pg.player_id, pg.game_date, pg.game_id"""
# Team games to @last: points, possessions (FGA + 0.44 FTA), minutes, FGA and FTA over the team's
# rows; those of the slate's season, each team's last @games before it (its last-10 windows) and
# the games of the slate's history before the season (@game_ids, dated from @since: the usage
# windows of a player whose last 20 games reach back), each with its opponent's row of the game.
# @first bounds the scan of the rest: the season's start when that holds every slate team's last
# @games, else the previous season's start (common.data.slate._team_games). A player back from a
# long absence adds his own games only, not every game since.
TEAM_GAMES = """
WITH rows AS (
  SELECT game_id, team_id, game_date, opponent_team_id, points, fga, fta, minutes FROM player_games
  WHERE game_date BETWEEN @first AND @last
  UNION ALL
  SELECT game_id, team_id, game_date, opponent_team_id, points, fga, fta, minutes FROM player_games
  WHERE game_date >= @since AND game_date < @first AND game_id IN (SELECT id FROM UNNEST(@game_ids) AS id)
),
tg AS (
  SELECT game_id, team_id, MIN(game_date) AS game_date, MIN(opponent_team_id) AS opp,
         SUM(points) AS pts, SUM(fga + 0.44 * fta) AS poss,
         SUM(minutes) AS team_minutes, SUM(fga) AS team_fga, SUM(fta) AS team_fta
  FROM rows GROUP BY game_id, team_id
),
ranked AS (
  SELECT game_id, game_date,
         ROW_NUMBER() OVER (PARTITION BY team_id ORDER BY game_date DESC, game_id DESC) AS back
  FROM tg WHERE game_date >= @first
),
wanted AS (
  SELECT game_id FROM ranked WHERE game_date >= @season_start OR back <= @games
  UNION DISTINCT
  SELECT id AS game_id FROM UNNEST(@game_ids) AS id
)
SELECT game_id, team_id, game_date, opp, pts, poss, team_minutes, team_fga, team_fta
FROM tg
WHERE game_id IN (SELECT game_id FROM wanted)
ORDER BY game_date, game_id, team_id"""
# Per (opponent, starter, game) of the slate's season to @last: points and played player-games.
ROLE_GAMES = """
SELECT opponent_team_id, starter, game_id, MIN(game_date) AS game_date, SUM(points) AS pts, COUNT(*) AS n
FROM player_games
WHERE status = 'played' AND game_date BETWEEN @season_start AND @last
GROUP BY opponent_team_id, starter, game_id
ORDER BY game_date, game_id, opponent_team_id, starter"""
# The slate's props captured by the moment (@as_of): the snapshot used and the opening line.
SLATE_SNAPSHOTS = """
SELECT game_id, player_id, captured_at, line, over_price, under_price FROM betting_line_snapshots
WHERE game_date = @day AND captured_at <= @as_of
ORDER BY game_id, player_id, captured_at"""
# The preseason ratings of the slate's season (and rows from before migration 018, without one).
SLATE_TEAMS = """
SELECT team_id, name, def_rating, off_rating, pace, season FROM teams
WHERE season = @season OR season IS NULL
ORDER BY season, team_id"""
