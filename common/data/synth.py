"""Seeded synthetic NBA regular season (no real data can be downloaded here).

What is modelled:

* 30 teams with latent offensive rating, defensive rating (points scored /
  allowed per 100 possessions, ~N(115.5, 3)) and pace (possessions per 48
  minutes, ~N(99.5, 2)). Ratings are fixed for the season.
* 15-man rosters, fixed for the season (no trades): 1 star (a second star on
  ~35% of teams), starters, 4 rotation players and 6 bench players. Each player
  has a stable scoring rate (points per minute), a base minutes level and a
  private shooting profile (3-point share, 2P%/3P%/FT%, free-throw rate; bigs
  shoot fewer threes and worse free throws).
* A regular-season schedule from the Tuesday on or after 20 October to the
  Sunday on or after 10 April: 82 games per team (41 home), 1230 games, no
  games on Thanksgiving, Christmas Eve or the All-Star break, weekday-dependent
  nightly counts (2 on opening night, usually 3-13), back-to-backs but never
  three games in three days.
* Availability: multi-game injuries (a per-game hazard with a mixture of
  short, medium and long absences), rest days (mostly stars on the second leg
  of a back-to-back) and coach's-decision DNPs (mostly deep bench; a
  short-handed coach plays his deep bench, so at least 9 players play). Every
  rostered player has a ``player_games`` row for every team game; an absence
  has status 'injured', 'rest' or 'dnp', ``starter`` False and zero minutes
  and counting stats (zeros, not NaN, so the count columns stay integers):
  filter on ``status == 'played'``.
* Minutes: players who play share 240 team minutes in proportion to base
  minutes (so injuries hand minutes to teammates; a player promoted to the
  starting five gets at least starter minutes; capped at 42), with per-game
  noise. No overtime. A player on the second night of a back-to-back he also
  played the first night is fatigued: stars and starters lose ~5% of minutes
  and every fatigued player shoots ~3% worse.
* Scoring: a team's expected points are possessions ((own pace + opponent
  pace) / 2) times (own offence + opponent defence) / 200, +/-1.2% home/away.
  Players' shares of that follow their rate x minutes x a slowly drifting
  personal form (AR(1), ~6% sd). Points are built from makes: team field-goal
  attempts (normal around expectation) are split among players by a
  multinomial with mildly overdispersed weights; threes, two-point makes,
  free-throw attempts (Poisson on the player's attempts) and free throws made
  are binomial draws with a per-team "shooting night" factor. Points are
  2*fg2m + 3*fg3m + ftm, so they are integers, never negative and
  overdispersed. Tied games are settled by one extra free throw.
* Nights: a league-wide scoring drift (AR(1) across dates, ~3% sd, tracked by
  the book) and a shock per date (~4.5%, shared by every game that night, known
  to nobody), so outcomes cluster by date and some nights suit one kind of model.
* Betting lines (player points props) for players expected to play 15+
  minutes (~5% of them randomly unposted): the book knows each player's
  expected points for that game (rate, expected minutes given the injury
  report, form, opponent, pace, home, fatigue, the league's drift) but not the
  game's luck (minutes noise, shooting variance, the night's shock); its
  closing estimate is that expectation shaded slightly towards the (lower)
  median, plus noise; its opening estimate adds more noise. Each prop is a
  series of snapshots (``betting_line_snapshots``) with both sides' prices, from the
  opening the day before to the close at tip-off (each game has a ``tip_off``):
  see :mod:`common.data.synth_market`. ``betting_lines`` (opening and closing
  line) is derived from them: the first and the last snapshot before tip-off.
* Seasons: the league (teams, rosters) is drawn first from ``seed`` alone, so
  two seasons generated with one seed share their players, and form carries
  over from one season to the next.

Dates are pandas datetime64 values at midnight (pandas has no native date
dtype); use ``.dt.date`` for ``datetime.date`` objects. Everything is drawn
from one ``numpy.random.Generator`` seeded with ``seed``, so the same
(season, seed) always yields identical frames.

The work is split by seam: :mod:`common.data.synth_roster` (teams and rosters),
:mod:`common.data.synth_schedule` (season window and schedule) and
:mod:`common.data.synth_games` (availability, box scores and betting lines); this module
ties them together in :func:`generate_season` and re-exports their public constants.
"""

from __future__ import annotations

import numpy as np

from common.data.season import SeasonData, season_dates
from common.data.synth_games import (
    CLOSING_SD,
    INJURY_HAZARD,
    LINE_MIN_MINUTES,
    LINE_SHADE,
    OPENING_EXTRA_SD,
    STATUS_NAMES,
    betting_lines,
    player_game_frame,
    simulate,
)
from common.data.synth_market import HOLD_RANGE, PRICE_RANGE, SNAPSHOTS, opening_closing, tip_offs
from common.data.synth_roster import (
    DNP_PROB,
    FIRST_NAMES,
    LAST_NAMES,
    MAX_MINUTES,
    N_TEAMS,
    ROSTER,
    SLOT_ROLE,
    TEAM_MINUTES,
    TEAMS,
    make_roster,
    make_teams,
)
from common.data.synth_schedule import N_GAMES, WEEKDAY_WEIGHT, make_schedule, team_games
from common.errors import InvalidArgument

__all__ = [
    "CLOSING_SD",
    "DNP_PROB",
    "FIRST_NAMES",
    "HOLD_RANGE",
    "PRICE_RANGE",
    "SNAPSHOTS",
    "INJURY_HAZARD",
    "LAST_NAMES",
    "LINE_MIN_MINUTES",
    "LINE_SHADE",
    "MAX_MINUTES",
    "N_GAMES",
    "N_TEAMS",
    "OPENING_EXTRA_SD",
    "ROSTER",
    "SLOT_ROLE",
    "STATUS_NAMES",
    "TEAMS",
    "TEAM_MINUTES",
    "WEEKDAY_WEIGHT",
    "SeasonData",
    "generate_season",
    "season_dates",
]


def generate_season(season: str = "2025-26", seed: int = 7) -> SeasonData:
    """Generate a full, deterministic synthetic regular season for ``seed``."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise InvalidArgument(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(seed)
    teams = make_teams(rng)
    roster = make_roster(rng, teams)
    games = make_schedule(rng, season)
    tg = team_games(games)
    sim = simulate(rng, teams, roster, tg)
    player_games = player_game_frame(games, teams, roster, tg, sim)
    games["tip_off"] = tip_offs(rng, games)
    snaps = betting_lines(rng, player_games, games)
    player_games = player_games.drop(columns=["_book_mu", "_exp_min"])
    players = roster[["player_id", "player_name", "team_id", "role", "base_scoring", "base_minutes"]].copy()
    teams["season"] = players["season"] = season
    return SeasonData(season, teams, players, games, player_games, opening_closing(snaps, games), snaps)
