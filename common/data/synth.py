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
* Betting lines (player points props) for players expected to play 15+
  minutes (~5% of them randomly unposted): the book knows each player's
  expected points for that game exactly (rate, expected minutes given the
  injury report, form, opponent, pace, home, fatigue) but not the game's luck
  (minutes noise, shooting variance); the closing line is that
  expectation shaded slightly towards the (lower) median, plus noise, rounded
  to the nearest x.5. The opening line is the closing line plus extra noise,
  so the closing line is the better of the two and the line move carries no
  information beyond the closing line.

Dates are pandas datetime64 values at midnight (pandas has no native date
dtype); use ``.dt.date`` for ``datetime.date`` objects. Everything is drawn
from one ``numpy.random.Generator`` seeded with ``seed``, so the same
(season, seed) always yields identical frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from common.errors import InvalidArgument

_TEAM_TEXT = (
    "ATL Atlanta Hawks|BOS Boston Celtics|BKN Brooklyn Nets|CHA Charlotte Hornets|CHI Chicago Bulls|"
    "CLE Cleveland Cavaliers|DAL Dallas Mavericks|DEN Denver Nuggets|DET Detroit Pistons|"
    "GSW Golden State Warriors|HOU Houston Rockets|IND Indiana Pacers|LAC LA Clippers|LAL Los Angeles Lakers|"
    "MEM Memphis Grizzlies|MIA Miami Heat|MIL Milwaukee Bucks|MIN Minnesota Timberwolves|"
    "NOP New Orleans Pelicans|NYK New York Knicks|OKC Oklahoma City Thunder|ORL Orlando Magic|"
    "PHI Philadelphia 76ers|PHX Phoenix Suns|POR Portland Trail Blazers|SAC Sacramento Kings|"
    "SAS San Antonio Spurs|TOR Toronto Raptors|UTA Utah Jazz|WAS Washington Wizards"
)
_FIRST_TEXT = (
    "Aaron Adrian Alec Andre Anthony Austin Ben Brandon Caleb Cameron Chris Cole Damian Darius Derrick Dillon "
    "Donovan Dylan Eric Evan Gabe Isaiah Jalen Jamal Jaylen Jordan Josh Julius Justin Kai Keegan Kevin Kyle "
    "Lamar Luke Malik Marcus Mason Miles Nick Noah Omar Paul Quentin Reggie Ryan Scottie Shai Terrence Trey "
    "Tyler Victor Zach"
)
_LAST_TEXT = (
    "Adams Allen Anderson Bailey Baker Barnes Bell Brooks Brown Bryant Carter Clark Coleman Cook Davis Edwards "
    "Ellis Evans Fisher Ford Foster Gibson Grant Green Hall Harris Hayes Henderson Hill Holmes Howard Hughes "
    "Jackson James Jenkins Johnson Jones Jordan King Lewis Martin Mitchell Moore Morris Murray Nelson Parker "
    "Perry Porter Powell Reed Richardson Robinson Ross Russell Sanders Scott Simmons Smith Stewart Thomas "
    "Thompson Turner Walker Wallace Ward Washington Watson White Williams Wilson Wright Young"
)
TEAMS: tuple[tuple[str, str], ...] = tuple((t[:3], t[4:]) for t in _TEAM_TEXT.split("|"))
FIRST_NAMES: tuple[str, ...] = tuple(_FIRST_TEXT.split())
LAST_NAMES: tuple[str, ...] = tuple(_LAST_TEXT.split())

N_TEAMS, ROSTER, N_GAMES = 30, 15, 82
TEAM_MINUTES, MAX_MINUTES, LINE_MIN_MINUTES = 240.0, 42.0, 15.0
# Roster slots: 0 star, 1-4 starters, 5-8 rotation, 9-14 bench.
SLOT_ROLE = np.array(["star"] + ["starter"] * 4 + ["rotation"] * 4 + ["bench"] * 6)
DNP_PROB = np.array([0.0] * 5 + [0.02] * 4 + [0.25, 0.35, 0.5, 0.6, 0.7, 0.8])
INJURY_HAZARD = 0.015  # per team game; with ~6-game absences ~8% of games lost
# Relative nightly game counts, Monday..Sunday (Thursday is light, Wednesday heavy).
WEEKDAY_WEIGHT = np.array([7.7, 6.2, 9.4, 4.6, 8.6, 7.2, 6.8])
CLOSING_SD = (0.9, 0.02)  # closing-line noise sd = a + b * expected points
OPENING_EXTRA_SD = 0.9  # extra noise of the opening line over the closing line
LINE_SHADE = 0.3  # points are right-skewed: books sit a little below the mean


@dataclass(frozen=True, eq=False)
class SeasonData:
    """One synthetic season: the season label and its six frames."""

    season: str
    teams: pd.DataFrame
    players: pd.DataFrame
    games: pd.DataFrame
    player_games: pd.DataFrame
    betting_lines: pd.DataFrame

    @property
    def latest_game_date(self) -> date:
        """Date of the last scheduled game in the season."""
        return self.games["game_date"].max().date()


def season_dates(season: str) -> tuple[date, date]:
    """Regular-season window for ``'YYYY-YY'``: Tuesday on/after 20 Oct to Sunday on/after 10 Apr."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", season) if isinstance(season, str) else None
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise InvalidArgument(f"season must look like '2025-26', got {season!r}")
    year = int(match[1])
    start = date(year, 10, 20)
    end = date(year + 1, 4, 10)
    start += timedelta(days=(1 - start.weekday()) % 7)
    end += timedelta(days=(6 - end.weekday()) % 7)
    return start, end


def generate_season(season: str = "2025-26", seed: int = 7) -> SeasonData:
    """Generate a full, deterministic synthetic regular season for ``seed``."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise InvalidArgument(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(seed)
    teams = _make_teams(rng)
    roster = _make_roster(rng, teams)
    games = _make_schedule(rng, season)
    tg = _team_games(games)
    sim = _simulate(rng, teams, roster, tg)
    player_games = _player_game_frame(games, teams, roster, tg, sim)
    lines = _betting_lines(rng, player_games)
    player_games = player_games.drop(columns=["_book_mu", "_exp_min"])
    players = roster[["player_id", "player_name", "team_id", "role", "base_scoring", "base_minutes"]]
    return SeasonData(season, teams, players.copy(), games, player_games, lines)


def _make_teams(rng: np.random.Generator) -> pd.DataFrame:
    n = len(TEAMS)
    return pd.DataFrame(
        {
            "team_id": [t[0] for t in TEAMS],
            "name": [t[1] for t in TEAMS],
            "def_rating": np.round(rng.normal(115.5, 3.0, n), 1),
            "off_rating": np.round(rng.normal(115.5, 3.0, n), 1),
            "pace": np.round(rng.normal(99.5, 2.0, n), 1),
        }
    )


def _make_roster(rng: np.random.Generator, teams: pd.DataFrame) -> pd.DataFrame:
    """Players in team-major, slot-minor order (row = team * 15 + slot)."""
    shape = (N_TEAMS, ROSTER)
    role = np.broadcast_to(SLOT_ROLE, shape).copy()
    role[:, 1] = np.where(rng.random(N_TEAMS) < 0.35, "star", "starter")
    mean_ppm = {"star": 0.75, "starter": 0.47, "rotation": 0.42, "bench": 0.38}
    mean_min = {"star": 34.0, "starter": 30.0, "rotation": 18.0, "bench": 8.0}
    # Stars' rates vary less, which keeps the league's top scorer near 30 ppg.
    ppm = np.vectorize(mean_ppm.get)(role) * rng.lognormal(0.0, np.where(role == "star", 0.09, 0.13))
    base_min = np.vectorize(mean_min.get)(role) + rng.normal(0.0, 1.8, shape)
    base_min = np.clip(base_min, 3.0, 36.5)
    big = rng.random(shape) < 0.25
    star = role == "star"
    prof = {
        "s3": np.where(big, rng.uniform(0.02, 0.20, shape), rng.uniform(0.30, 0.55, shape)),
        "p2": np.where(big, rng.normal(0.60, 0.03, shape), rng.normal(0.52, 0.03, shape)) + 0.02 * star,
        "p3": rng.normal(0.36, 0.025, shape) - 0.03 * big,
        "ftr": np.where(big, rng.uniform(0.25, 0.45, shape), rng.uniform(0.15, 0.33, shape)) + 0.08 * star,
        "pft": np.clip(np.where(big, rng.normal(0.70, 0.06, shape), rng.normal(0.80, 0.05, shape)), 0.4, 0.95),
    }
    names = rng.choice(len(FIRST_NAMES) * len(LAST_NAMES), N_TEAMS * ROSTER, replace=False)
    healthy_min = _share_minutes(base_min * (1.0 - DNP_PROB), np.ones(shape, bool))
    healthy_pts = (ppm * healthy_min).sum(axis=1)
    # Expected points against a league-average opponent at league-average pace.
    neutral = teams["pace"].mean() * (teams["off_rating"] + teams["def_rating"].mean()) / 200.0
    scale = (neutral.to_numpy() / healthy_pts)[:, None]
    frame = pd.DataFrame(
        {
            "player_id": np.arange(N_TEAMS * ROSTER) + 1_630_001,
            "player_name": [f"{FIRST_NAMES[i // len(LAST_NAMES)]} {LAST_NAMES[i % len(LAST_NAMES)]}" for i in names],
            "team_id": np.repeat(teams["team_id"].to_numpy(), ROSTER),
            "role": role.ravel(),
            "base_scoring": np.round((ppm * scale * base_min).ravel(), 1),
            "base_minutes": np.round(base_min.ravel(), 1),
        }
    )
    frame["_ppm"] = ppm.ravel()
    for key, value in prof.items():
        frame[f"_{key}"] = value.ravel()
    frame["_healthy_pts"] = np.repeat(healthy_pts, ROSTER)
    return frame


def _share_minutes(weights: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Split 240 minutes over the last axis in proportion to weights, capped at 42."""
    w = np.where(available, weights, 0.0)
    for _ in range(8):  # capping frees minutes that the others then absorb
        w = w * (TEAM_MINUTES / w.sum(axis=-1, keepdims=True))
        w = np.minimum(w, MAX_MINUTES)
    return w


def _game_days(season: str) -> list[date]:
    start, end = season_dates(season)
    year = start.year
    nov1 = date(year, 11, 1)
    thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
    feb1 = date(year + 1, 2, 1)
    all_star = feb1 + timedelta(days=(6 - feb1.weekday()) % 7 + 14)  # third Sunday of February
    blackout = {thanksgiving, date(year, 12, 24)}
    blackout |= {all_star + timedelta(days=k) for k in range(-3, 4)}  # Thursday to Wednesday
    days = (start + timedelta(days=k) for k in range((end - start).days + 1))
    return [d for d in days if d not in blackout]


def _rounds(rng: np.random.Generator) -> list[list[tuple[int, int]]]:
    """82 rounds in which every team plays once: a double round robin plus 12 mirrored rounds."""

    def round_robin() -> list[list[tuple[int, int]]]:
        arr = list(rng.permutation(N_TEAMS))
        out = []
        for _ in range(N_TEAMS - 1):
            out.append([(arr[i], arr[N_TEAMS - 1 - i]) for i in range(N_TEAMS // 2)])
            arr = [arr[0], arr[-1], *arr[1:-1]]  # circle method
        return out

    first, extra = round_robin(), round_robin()[:12]
    mirror = lambda rs: [[(b, a) for a, b in r] for r in rs]  # noqa: E731
    return first + extra + mirror(first) + mirror(extra)


def _place_games(pending: list[tuple[int, int]], targets: np.ndarray) -> list[tuple[int, int, int]]:
    """Greedy day-by-day fill: earliest pending games first, back-to-backs only to reach the target."""
    last = np.full(N_TEAMS, -10)  # day index of each team's latest game
    prev = np.full(N_TEAMS, -10)  # and of the one before, to forbid three games in three days
    placed: list[tuple[int, int, int]] = []
    for day, target in enumerate(targets):
        # Catch up when behind the planned pace so the season finishes on time.
        target = min(15, target + max(0, len(pending) - targets[day:].sum()))
        busy: set[int] = set()
        # Teams with the most games left go first, so nobody falls behind the calendar.
        left = np.bincount(np.ravel(pending), minlength=N_TEAMS) if pending else np.zeros(N_TEAMS)
        window = sorted(pending[:90], key=lambda g: -max(left[g[0]], left[g[1]]))
        for allow_b2b in (False, True):
            for game in window:
                if game not in pending:
                    continue
                if len(busy) >= 2 * target:
                    break
                pair = list(game)
                if busy & set(pair) or np.any((last[pair] == day - 1) & (prev[pair] == day - 2)):
                    continue
                if not allow_b2b and np.any(last[pair] == day - 1):
                    continue
                busy |= set(pair)
                pending.remove(game)
                placed.append((day, *game))
                prev[pair], last[pair] = last[pair], day
    return placed + _repair(placed, pending, len(targets))


def _repair(placed: list[tuple[int, int, int]], pending: list[tuple[int, int]], n_days: int) -> list:
    """Put games the greedy pass could not fit on the latest day both teams can take."""
    days: list[set[int]] = [set() for _ in range(N_TEAMS)]
    for day, h, a in placed:
        days[h].add(day)
        days[a].add(day)

    def fits(team: int, day: int) -> bool:
        taken = days[team] | {day}
        return day not in days[team] and not any({d, d + 1, d + 2} <= taken for d in range(day - 2, day + 1))

    extra = []
    for h, a in pending:
        free = [d for d in range(n_days - 1, -1, -1) if fits(h, d) and fits(a, d)]
        if not free:  # pragma: no cover - 166 days for 82 games leaves plenty of room
            raise RuntimeError("schedule generation could not place every game")
        days[h].add(free[0])
        days[a].add(free[0])
        extra.append((free[0], h, a))
    return extra


def _make_schedule(rng: np.random.Generator, season: str) -> pd.DataFrame:
    days = _game_days(season)
    pending = [g for r in _rounds(rng) for g in (r[i] for i in rng.permutation(len(r)))]
    weights = WEEKDAY_WEIGHT[[d.weekday() for d in days]]
    targets = np.clip(np.round(weights * len(pending) / weights.sum() + rng.normal(0, 2.0, len(days))), 1, 15)
    targets[0] = 2  # opening night is a double-header
    placed = _place_games(pending, targets)
    sched = pd.DataFrame(placed, columns=["day", "home", "away"]).sort_values(["day", "home"], kind="stable")
    yy = season[2:4]
    codes = np.array([t[0] for t in TEAMS])
    return pd.DataFrame(
        {
            "game_id": [f"002{yy}{i:05d}" for i in range(1, len(sched) + 1)],
            "game_date": pd.to_datetime([days[d] for d in sched["day"]]),
            "season": season,
            "home_team_id": codes[sched["home"].to_numpy()],
            "away_team_id": codes[sched["away"].to_numpy()],
        }
    )


def _team_games(games: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each team's 82 games in date order as (30, 82) arrays."""
    index = {code: i for i, (code, _) in enumerate(TEAMS)}
    home = games["home_team_id"].map(index).to_numpy()
    away = games["away_team_id"].map(index).to_numpy()
    n = len(games)
    rows = pd.DataFrame(
        {
            "team": np.concatenate([home, away]),
            "opp": np.concatenate([away, home]),
            "game": np.tile(np.arange(n), 2),
            "home": np.repeat([True, False], n),
            "day": np.tile(games["game_date"].to_numpy(), 2),
        }
    ).sort_values(["team", "day"], kind="stable")
    out = {c: rows[c].to_numpy().reshape(N_TEAMS, N_GAMES) for c in rows.columns}
    gap = np.diff(out["day"], axis=1) / np.timedelta64(1, "D")
    out["b2b"] = np.concatenate([np.zeros((N_TEAMS, 1), bool), gap == 1], axis=1)
    return out


def _availability(rng: np.random.Generator, role: np.ndarray, b2b: np.ndarray) -> np.ndarray:
    """Status codes (30, 82, 15): 0 played, 1 injured, 2 rest, 3 coach's DNP."""
    shape = (N_TEAMS, N_GAMES, ROSTER)
    starts = rng.random(shape) < INJURY_HAZARD
    # Absences: mostly 1-3 games, some 4-12, a few 15-40 (a long layoff).
    kind = rng.choice(3, size=shape, p=[0.6, 0.3, 0.1])
    length = np.choose(kind, [rng.integers(1, 4, shape), rng.integers(4, 13, shape), rng.integers(15, 41, shape)])
    injured = np.zeros(shape, bool)
    remaining = np.zeros((N_TEAMS, ROSTER), int)
    for k in range(N_GAMES):  # an absence spans games, so walk the season game by game
        new = (remaining == 0) & starts[:, k]
        remaining = np.where(new, length[:, k], remaining)
        injured[:, k] = remaining > 0
        remaining = np.maximum(remaining - 1, 0)
    star, starter = role == "star", role == "starter"
    rest_p = np.where(b2b[:, :, None], 0.25 * star + 0.05 * starter, 0.01 * star)
    rest = ~injured & (rng.random(shape) < rest_p)
    dnp = ~injured & ~rest & (rng.random(shape) < DNP_PROB)
    # A short-handed coach plays his deep bench: keep at least 9 players available.
    short = np.maximum(9 - (~injured & ~rest & ~dnp).sum(axis=-1, keepdims=True), 0)
    dnp &= np.cumsum(dnp, axis=-1) > short
    return np.select([injured, rest, dnp], [1, 2, 3], 0)


def _minutes(rng, base_min, role, played, fatigued):
    """Starting five, expected minutes (known pre-game) and played minutes."""
    rank = np.argsort(np.argsort(-(base_min * played), axis=-1, kind="stable"), axis=-1)
    starter = played & (rank < 5)
    weight = np.where(starter, np.maximum(base_min, 26.0), base_min)
    weight = weight * np.where(fatigued & np.isin(role, ["star", "starter"]), 0.95, 1.0)
    expected = _share_minutes(weight, played)
    noisy = expected * rng.lognormal(-0.004, 0.09, expected.shape)
    actual = np.clip(_share_minutes(noisy, played), 1.0, 48.0) * played
    return starter, expected, np.round(actual, 2)


def _form(rng: np.random.Generator) -> np.ndarray:
    """Personal form, a slow AR(1) log-multiplier on scoring (stationary sd ~6%)."""
    shocks = rng.normal(0.0, 0.025, (N_TEAMS, N_GAMES, ROSTER))
    form = np.empty_like(shocks)
    form[:, 0] = shocks[:, 0] / np.sqrt(1 - 0.92**2)
    for k in range(1, N_GAMES):
        form[:, k] = 0.92 * form[:, k - 1] + shocks[:, k]
    return form


def _ppfga(s3, p2, p3, ftr, pft):
    """Expected points per field-goal attempt, free throws included."""
    return 2 * (1 - s3) * p2 + 3 * s3 * p3 + ftr * pft


def _simulate(rng, teams, roster, tg) -> dict[str, np.ndarray]:
    """Box scores and the book's expectations as (30, 82, 15) arrays."""
    shape = (N_TEAMS, N_GAMES, ROSTER)
    get = lambda c: roster[c].to_numpy().reshape(N_TEAMS, 1, ROSTER)  # noqa: E731
    role, base_min = get("role"), get("base_minutes")
    status = _availability(rng, role, tg["b2b"])
    played = status == 0
    fatigued = played & np.concatenate([np.zeros((N_TEAMS, 1, ROSTER), bool), played[:, :-1]], 1)
    fatigued &= tg["b2b"][:, :, None]
    starter, exp_min, minutes = _minutes(rng, base_min, role, played, fatigued)
    off, dfn, pace = (teams[c].to_numpy() for c in ("off_rating", "def_rating", "pace"))
    opp = tg["opp"].astype(int)
    team_pts = (pace[:, None] + pace[opp]) / 2 * (off[:, None] + dfn[opp]) / 200
    team_pts = team_pts * np.where(tg["home"].astype(bool), 1.012, 0.988)
    env = (team_pts / roster["_healthy_pts"].to_numpy()[::ROSTER, None])[:, :, None]
    s3, p2, p3, ftr, pft = (get(f"_{c}") for c in ("s3", "p2", "p3", "ftr", "pft"))
    rate = get("_ppm") * env * np.exp(_form(rng)) / _ppfga(s3, p2, p3, ftr, pft)  # FGA per minute
    eff = np.where(fatigued, 0.97, 1.0)
    book_mu = rate * exp_min * _ppfga(s3, p2 * eff, p3 * eff, ftr, pft)
    fga = _split_attempts(rng, rate * minutes)
    eff = eff * rng.normal(1.0, 0.025, (N_TEAMS, N_GAMES, 1))  # the team's shooting night
    fg3a = rng.binomial(fga, np.broadcast_to(s3, shape))
    fg3m = rng.binomial(fg3a, np.clip(p3 * eff, 0, 1))
    fg2m = rng.binomial(fga - fg3a, np.clip(p2 * eff, 0, 1))
    fta = rng.poisson(ftr * fga)
    ftm = rng.binomial(fta, np.broadcast_to(pft, shape))
    out = dict(
        status=status,
        starter=starter,
        minutes=minutes,
        fga=fga,
        fgm=fg2m + fg3m,
        fg3a=fg3a,
        fg3m=fg3m,
        fta=fta,
        ftm=ftm,
        book_mu=book_mu,
        exp_min=exp_min,
    )
    _settle_ties(rng, tg, out)
    out["points"] = 2 * out["fgm"] + out["fg3m"] + out["ftm"]
    return out


def _split_attempts(rng: np.random.Generator, expected_fga: np.ndarray) -> np.ndarray:
    """Team attempts near their expectation, shared out by a multinomial (usage is zero-sum)."""
    flat = expected_fga.reshape(-1, ROSTER)
    total = flat.sum(axis=1)
    n = np.maximum(np.round(rng.normal(total, 0.03 * total)), 0).astype(np.int64)
    weights = flat * rng.gamma(150.0, 1 / 150.0, flat.shape)  # mild extra overdispersion
    return rng.multinomial(n, weights / weights.sum(axis=1, keepdims=True)).reshape(expected_fga.shape)


def _settle_ties(rng: np.random.Generator, tg: dict[str, np.ndarray], box: dict[str, np.ndarray]) -> None:
    """No overtime is simulated: one side of a tied game gets one extra made free throw."""
    pts = (2 * box["fgm"] + box["fg3m"] + box["ftm"]).sum(axis=-1)
    order = np.argsort(tg["game"].ravel(), kind="stable")  # two team-games per game, in game order
    pairs = pts.ravel()[order].reshape(-1, 2)
    tied = np.flatnonzero(pairs[:, 0] == pairs[:, 1])
    side = order.reshape(-1, 2)[tied, rng.integers(0, 2, len(tied))]
    t, k = np.unravel_index(side, pts.shape)
    r = box["minutes"][t, k].argmax(axis=-1)
    box["fta"][t, k, r] += 1
    box["ftm"][t, k, r] += 1


STATUS_NAMES = np.array(["played", "injured", "rest", "dnp"])


def _player_game_frame(games, teams, roster, tg, sim) -> pd.DataFrame:
    """Flatten the (30, 82, 15) arrays into one row per rostered player per team game."""
    shape = (N_TEAMS, N_GAMES, ROSTER)
    wide = lambda a: np.broadcast_to(a[:, :, None], shape).ravel()  # noqa: E731
    codes = teams["team_id"].to_numpy()
    game = wide(tg["game"].astype(int))
    frame = pd.DataFrame(
        {
            "game_id": games["game_id"].to_numpy()[game],
            "game_date": games["game_date"].to_numpy()[game],
            "player_id": np.tile(roster["player_id"].to_numpy().reshape(N_TEAMS, 1, ROSTER), (1, N_GAMES, 1)).ravel(),
            "team_id": np.repeat(codes, N_GAMES * ROSTER),
            "opponent_team_id": codes[wide(tg["opp"].astype(int))],
            "is_home": wide(tg["home"].astype(bool)),
            "starter": sim["starter"].ravel(),
            "minutes": sim["minutes"].ravel().astype(np.float64),
            **{c: sim[c].ravel().astype(np.int64) for c in ("points", "fga", "fgm", "fg3a", "fg3m", "fta", "ftm")},
            "status": STATUS_NAMES[sim["status"].ravel()],
            "_book_mu": sim["book_mu"].ravel(),
            "_exp_min": sim["exp_min"].ravel(),
        }
    )
    frame = frame.sort_values(["game_date", "game_id", "team_id", "player_id"], kind="stable")
    return frame.reset_index(drop=True)


def _betting_lines(rng: np.random.Generator, pg: pd.DataFrame) -> pd.DataFrame:
    """Points props for players expected to play 15+ minutes (a few left unposted)."""
    expected = pg["_exp_min"].to_numpy()
    posted = (pg["status"].to_numpy() == "played") & (expected >= LINE_MIN_MINUTES)
    posted &= rng.random(len(pg)) >= 0.05
    mu = pg["_book_mu"].to_numpy()[posted]
    closing = mu - LINE_SHADE + rng.normal(0.0, CLOSING_SD[0] + CLOSING_SD[1] * mu)
    opening = closing + rng.normal(0.0, OPENING_EXTRA_SD, len(mu))
    half = lambda x: np.maximum(np.floor(x), 0.0) + 0.5  # nearest x.5, so no pushes  # noqa: E731
    lines = pg.loc[posted, ["game_id", "game_date", "player_id"]].reset_index(drop=True)
    lines["opening_line"] = half(opening)
    lines["closing_line"] = half(closing)
    return lines
