-- 006: the season tables training reads (box scores, betting lines), next to the registry.
-- `modelctl data generate` fills them from the seeded synthetic season; in production the
-- ingestion jobs write the same columns. One season at a time: a write replaces a table's rows.
CREATE TABLE IF NOT EXISTS teams (
  team_id STRING NOT NULL,
  name STRING,
  def_rating FLOAT64,
  off_rating FLOAT64,
  pace FLOAT64
);
CREATE TABLE IF NOT EXISTS players (
  player_id INT64 NOT NULL,
  player_name STRING,
  team_id STRING,
  role STRING,
  base_scoring FLOAT64,
  base_minutes FLOAT64
);
CREATE TABLE IF NOT EXISTS games (
  game_id STRING NOT NULL,
  game_date DATE NOT NULL,
  season STRING NOT NULL,
  home_team_id STRING NOT NULL,
  away_team_id STRING NOT NULL
);
-- One row per rostered player per team game; absences have status injured/rest/dnp and zeros.
CREATE TABLE IF NOT EXISTS player_games (
  game_id STRING NOT NULL,
  game_date DATE NOT NULL,
  player_id INT64 NOT NULL,
  team_id STRING NOT NULL,
  opponent_team_id STRING NOT NULL,
  is_home BOOL NOT NULL,
  starter BOOL NOT NULL,
  minutes FLOAT64 NOT NULL,
  points INT64 NOT NULL,
  fga INT64 NOT NULL,
  fgm INT64 NOT NULL,
  fg3a INT64 NOT NULL,
  fg3m INT64 NOT NULL,
  fta INT64 NOT NULL,
  ftm INT64 NOT NULL,
  status STRING NOT NULL
);
-- Player points props: the opening and the closing line per player-game.
CREATE TABLE IF NOT EXISTS betting_lines (
  game_id STRING NOT NULL,
  game_date DATE NOT NULL,
  player_id INT64 NOT NULL,
  opening_line FLOAT64,
  closing_line FLOAT64
);
