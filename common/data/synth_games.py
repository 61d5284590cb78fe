"""What happens in the synthetic season's games: availability, box scores and betting lines.

Given the rosters and each team's schedule, :func:`simulate` draws who is injured, rested or a
coach's DNP, the minutes of those who play, and their attempts and makes (as (30, 82, 15)
arrays), together with the book's pre-game expectation of each player's points;
:func:`player_game_frame` flattens those arrays into one row per rostered player per team game;
:func:`betting_lines` posts the opening and closing points props the book derives from its
expectation. The model as a whole is described in :mod:`common.data.synth`, the public entry
point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from common.data.synth_market import snapshots
from common.data.synth_roster import DNP_PROB, N_TEAMS, ROSTER, share_minutes
from common.data.synth_schedule import N_GAMES

INJURY_HAZARD = 0.015  # per team game; with ~6-game absences ~8% of games lost
LINE_MIN_MINUTES = 15.0
CLOSING_SD = (0.9, 0.02)  # closing-line noise sd = a + b * expected points
OPENING_EXTRA_SD = 0.9  # extra noise of the opening line over the closing line
LINE_SHADE = 0.3  # points are right-skewed: books sit a little below the mean
NIGHT_DRIFT = (0.97, 0.0075)  # AR(1) coefficient and step sd of the league's slow drift (sd ~3%)
NIGHT_SHOCK_SD = 0.045  # a night's shared scoring shock
STATUS_NAMES = np.array(["played", "injured", "rest", "dnp"])


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
    expected = share_minutes(weight, played)
    noisy = expected * rng.lognormal(-0.004, 0.09, expected.shape)
    actual = np.clip(share_minutes(noisy, played), 1.0, 48.0) * played
    return starter, expected, np.round(actual, 2)


def _form(rng: np.random.Generator) -> np.ndarray:
    """Personal form, a slow AR(1) log-multiplier on scoring (stationary sd ~6%)."""
    shocks = rng.normal(0.0, 0.025, (N_TEAMS, N_GAMES, ROSTER))
    form = np.empty_like(shocks)
    form[:, 0] = shocks[:, 0] / np.sqrt(1 - 0.92**2)
    for k in range(1, N_GAMES):
        form[:, k] = 0.92 * form[:, k - 1] + shocks[:, k]
    return form


def night_effects(rng: np.random.Generator, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """League-wide log-multipliers on scoring per date, as (30, 82, 1): a slow drift and a night's shock.

    The drift (AR(1) across the season's dates, stationary sd ~3%: injuries going round, the
    schedule's grind) carries over from night to night and the book tracks it; the shock (sd
    ``NIGHT_SHOCK_SD``) is the night's own luck, shared by every game that night and known to
    nobody before tip-off. Outcomes therefore cluster by date as real nights do.
    """
    codes, index = np.unique(day.astype("datetime64[D]"), return_inverse=True)
    steps = rng.normal(0.0, NIGHT_DRIFT[1], len(codes))
    drift = np.empty(len(codes))
    drift[0] = steps[0] / np.sqrt(1 - NIGHT_DRIFT[0] ** 2)
    for k in range(1, len(codes)):
        drift[k] = NIGHT_DRIFT[0] * drift[k - 1] + steps[k]
    shock = rng.normal(0.0, NIGHT_SHOCK_SD, len(codes))
    shape = (*day.shape, 1)
    return drift[index].reshape(shape), shock[index].reshape(shape)


def _ppfga(s3, p2, p3, ftr, pft):
    """Expected points per field-goal attempt, free throws included."""
    return 2 * (1 - s3) * p2 + 3 * s3 * p3 + ftr * pft


def _environment(teams: pd.DataFrame, roster: pd.DataFrame, tg: dict[str, np.ndarray]) -> np.ndarray:
    """Each team-game's expected points over the team's healthy neutral expectation, as (30, 82, 1)."""
    off, dfn, pace = (teams[c].to_numpy() for c in ("off_rating", "def_rating", "pace"))
    opp = tg["opp"].astype(int)
    team_pts = (pace[:, None] + pace[opp]) / 2 * (off[:, None] + dfn[opp]) / 200
    team_pts = team_pts * np.where(tg["home"].astype(bool), 1.012, 0.988)
    return (team_pts / roster["_healthy_pts"].to_numpy()[::ROSTER, None])[:, :, None]


def simulate(
    rng: np.random.Generator, teams: pd.DataFrame, roster: pd.DataFrame, tg: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Box scores and the book's expectations as (30, 82, 15) arrays."""
    get = lambda c: roster[c].to_numpy().reshape(N_TEAMS, 1, ROSTER)  # noqa: E731
    role, base_min = get("role"), get("base_minutes")
    status = _availability(rng, role, tg["b2b"])
    played = status == 0
    fatigued = played & np.concatenate([np.zeros((N_TEAMS, 1, ROSTER), bool), played[:, :-1]], 1)
    fatigued &= tg["b2b"][:, :, None]
    starter, exp_min, minutes = _minutes(rng, base_min, role, played, fatigued)
    env = _environment(teams, roster, tg)
    s3, p2, p3, ftr, pft = (get(f"_{c}") for c in ("s3", "p2", "p3", "ftr", "pft"))
    drift, shock = night_effects(rng, tg["day"])
    rate = get("_ppm") * env * np.exp(_form(rng) + drift) / _ppfga(s3, p2, p3, ftr, pft)  # FGA per minute
    eff = np.where(fatigued, 0.97, 1.0)
    book_mu = rate * exp_min * _ppfga(s3, p2 * eff, p3 * eff, ftr, pft)
    shots = _shoot(rng, rate * np.exp(shock) * minutes, eff, s3, p2, p3, ftr, pft)
    out = dict(status=status, starter=starter, minutes=minutes, **shots, book_mu=book_mu, exp_min=exp_min)
    _settle_ties(rng, tg, out)
    out["points"] = 2 * out["fgm"] + out["fg3m"] + out["ftm"]
    return out


def _shoot(
    rng: np.random.Generator,
    expected_fga: np.ndarray,
    eff: np.ndarray,
    s3: np.ndarray,
    p2: np.ndarray,
    p3: np.ndarray,
    ftr: np.ndarray,
    pft: np.ndarray,
) -> dict[str, np.ndarray]:
    """Attempts and makes; ``eff`` (fatigue) scales the make rates, as does the team's shooting night."""
    shape = (N_TEAMS, N_GAMES, ROSTER)
    fga = _split_attempts(rng, expected_fga)
    eff = eff * rng.normal(1.0, 0.025, (N_TEAMS, N_GAMES, 1))  # the team's shooting night
    fg3a = rng.binomial(fga, np.broadcast_to(s3, shape))
    fg3m = rng.binomial(fg3a, np.clip(p3 * eff, 0, 1))
    fg2m = rng.binomial(fga - fg3a, np.clip(p2 * eff, 0, 1))
    fta = rng.poisson(ftr * fga)
    ftm = rng.binomial(fta, np.broadcast_to(pft, shape))
    return dict(fga=fga, fgm=fg2m + fg3m, fg3a=fg3a, fg3m=fg3m, fta=fta, ftm=ftm)


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


def player_game_frame(games, teams, roster, tg, sim) -> pd.DataFrame:
    """Flatten the (30, 82, 15) arrays into one row per rostered player per team game.

    ``_book_mu`` and ``_exp_min`` (the book's expected points and minutes) are kept for
    :func:`betting_lines`; the caller drops them from the published frame.
    """
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


def betting_lines(rng: np.random.Generator, pg: pd.DataFrame, games: pd.DataFrame) -> pd.DataFrame:
    """Snapshots of the points props of players expected to play 15+ minutes (a few left unposted).

    The book's closing estimate is its expectation shaded toward the (lower) median plus noise; its
    opening estimate adds more noise, so the close is the more accurate. The path between them,
    and the prices, are :func:`common.data.synth_market.snapshots`.
    """
    expected = pg["_exp_min"].to_numpy()
    posted = (pg["status"].to_numpy() == "played") & (expected >= LINE_MIN_MINUTES)
    posted &= rng.random(len(pg)) >= 0.05
    mu = pg["_book_mu"].to_numpy()[posted]
    closing = mu - LINE_SHADE + rng.normal(0.0, CLOSING_SD[0] + CLOSING_SD[1] * mu)
    opening = closing + rng.normal(0.0, OPENING_EXTRA_SD, len(mu))
    props = pg.loc[posted, ["game_id", "game_date", "player_id", "_book_mu"]].reset_index(drop=True)
    props["tip_off"] = props["game_id"].map(games.set_index("game_id")["tip_off"])
    return snapshots(rng, props, opening, closing)
