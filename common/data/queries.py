"""Every season-table query, written once in BigQuery SQL.

The season tables hold one season at a time: a write replaces a table's rows
(``REPLACE_ALL``), a load reads it whole in a stable order (``LOAD``). Both are
generated from ``TABLES``, the one list of each table's columns and load order.
"""

from __future__ import annotations

from common.features import HISTORY_COLUMNS

# table → (columns in migration order, ORDER BY of a load)
TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "teams": (("team_id", "name", "def_rating", "off_rating", "pace"), "team_id"),
    "players": (("player_id", "player_name", "team_id", "role", "base_scoring", "base_minutes"), "player_id"),
    "games": (("game_id", "game_date", "season", "home_team_id", "away_team_id"), "game_date, game_id"),
    "player_games": (HISTORY_COLUMNS, "game_date, game_id, team_id, player_id"),
    "betting_lines": (
        ("game_id", "game_date", "player_id", "opening_line", "closing_line"),
        "game_date, game_id, player_id",
    ),
}

# One season at a time: writing a table replaces every row it had.
REPLACE_ALL: dict[str, str] = {table: f"DELETE FROM {table} WHERE TRUE" for table in TABLES}
LOAD: dict[str, str] = {
    table: f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}" for table, (columns, order) in TABLES.items()
}

DATA_RANGE = """
SELECT MIN(pg.game_date) AS first_date, MAX(pg.game_date) AS last_date, COUNT(*) AS played,
       (SELECT COUNT(*) FROM betting_lines) AS lines, (SELECT MAX(season) FROM games) AS season
FROM player_games AS pg
WHERE pg.status = 'played'"""
