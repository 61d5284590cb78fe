"""The league of the synthetic season: its 30 teams and their fixed 15-man rosters.

Teams get latent offensive and defensive ratings and a pace; each roster slot gets a role (star,
starter, rotation, bench), a scoring rate, a base minutes level and a private shooting profile,
with rates scaled so a team's healthy expected points match its offence. It also holds the
league's shape (teams, roster size) and :func:`share_minutes`, the rule that splits a team's 240
minutes, which the game simulation reuses. The model as a whole is described in
:mod:`common.data.synth`, the public entry point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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

N_TEAMS, ROSTER = 30, 15
TEAM_MINUTES, MAX_MINUTES = 240.0, 42.0
# Roster slots: 0 star, 1-4 starters, 5-8 rotation, 9-14 bench.
SLOT_ROLE = np.array(["star"] + ["starter"] * 4 + ["rotation"] * 4 + ["bench"] * 6)
DNP_PROB = np.array([0.0] * 5 + [0.02] * 4 + [0.25, 0.35, 0.5, 0.6, 0.7, 0.8])


def make_teams(rng: np.random.Generator) -> pd.DataFrame:
    """The 30 teams with their season-long ratings (per 100 possessions) and pace."""
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


def make_roster(rng: np.random.Generator, teams: pd.DataFrame) -> pd.DataFrame:
    """Players in team-major, slot-minor order (row = team * 15 + slot).

    Columns starting with ``_`` are the latent traits the game simulation needs (scoring rate,
    shooting profile, the team's healthy expected points); they are not part of the players table.
    """
    shape = (N_TEAMS, ROSTER)
    role = np.broadcast_to(SLOT_ROLE, shape).copy()
    role[:, 1] = np.where(rng.random(N_TEAMS) < 0.35, "star", "starter")
    mean_ppm = {"star": 0.75, "starter": 0.47, "rotation": 0.42, "bench": 0.38}
    mean_min = {"star": 34.0, "starter": 30.0, "rotation": 18.0, "bench": 8.0}
    # Stars' rates vary less, which keeps the league's top scorer near 30 ppg.
    ppm = np.vectorize(mean_ppm.get)(role) * rng.lognormal(0.0, np.where(role == "star", 0.09, 0.13))
    base_min = np.vectorize(mean_min.get)(role) + rng.normal(0.0, 1.8, shape)
    base_min = np.clip(base_min, 3.0, 36.5)
    prof = _shooting_profile(rng, role)
    names = rng.choice(len(FIRST_NAMES) * len(LAST_NAMES), N_TEAMS * ROSTER, replace=False)
    healthy_min = share_minutes(base_min * (1.0 - DNP_PROB), np.ones(shape, bool))
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


def _shooting_profile(rng: np.random.Generator, role: np.ndarray) -> dict[str, np.ndarray]:
    """3-point share, 2P%, 3P%, free-throw rate and FT% per player; bigs shoot fewer, worse threes."""
    shape = role.shape
    big = rng.random(shape) < 0.25
    star = role == "star"
    return {
        "s3": np.where(big, rng.uniform(0.02, 0.20, shape), rng.uniform(0.30, 0.55, shape)),
        "p2": np.where(big, rng.normal(0.60, 0.03, shape), rng.normal(0.52, 0.03, shape)) + 0.02 * star,
        "p3": rng.normal(0.36, 0.025, shape) - 0.03 * big,
        "ftr": np.where(big, rng.uniform(0.25, 0.45, shape), rng.uniform(0.15, 0.33, shape)) + 0.08 * star,
        "pft": np.clip(np.where(big, rng.normal(0.70, 0.06, shape), rng.normal(0.80, 0.05, shape)), 0.4, 0.95),
    }


def share_minutes(weights: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Split 240 minutes over the last axis in proportion to weights, capped at 42."""
    w = np.where(available, weights, 0.0)
    for _ in range(8):  # capping frees minutes that the others then absorb
        w = w * (TEAM_MINUTES / w.sum(axis=-1, keepdims=True))
        w = np.minimum(w, MAX_MINUTES)
    return w
