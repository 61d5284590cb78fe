"""Every season-table query, written once in BigQuery SQL.

The season tables hold seasons of history: writing season S replaces S's rows only
(``REPLACE_SEASON``: by the season label of teams, players and games, by S's date window for the
box scores, lines and snapshots, whose seasons never overlap); a load reads every season in a
stable order (``LOAD``). Both are generated from ``TABLES``, the one list of each table's columns
and load order.
"""

from __future__ import annotations

from common.features import HISTORY_COLUMNS

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
