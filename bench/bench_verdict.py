"""Does the promotion verdict lie on real seasons, and how fast does each objective decide? A seeded simulation.

**False promotions** (equal models; a season counts if PROMOTE appears on any night, the verdict
computed after every night of a 160-night season). The daily paired differences are simulated
directly, per metric, at their measured night-to-night sd (MAE 0.36 points with a per-date effect,
ROI 0.135 units per bet, no-vig CLV 0.009 per bet), under:

* **independent** normal nights;
* **AR(1) rho = 0.2 / 0.4**: the same players, injuries and schedule carry over between nights;
* **t(3) shocks**: heavy-tailed nights, scaled to the same sd;
* **uneven slates**: 5-200 graded players a night, the night's sd ∝ 1/sqrt(players);
* **regime change**: equal for 15-30 nights, then the challenger *worse* by 0.4 points (any PROMOTE is false);
* **5 / 30 challengers**: that many equal challengers against one champion at once (the champion's
  share of each difference makes them correlated); a season counts if any of them is promoted;
* **30-day window checked nightly** (today's ``compare --days 30`` read as advice).

Each cell has ``--seasons`` seasons (>= 1,000 for the figures) and a Wilson 95% interval.

**Regime changes**: equal, then 0.4 points better (inverted intervals, restarts, time to PROMOTE);
and **better, then worse** (0.3 points better for 40-60 nights, then 0.3 worse): does a PROMOTE
earned before the change outlive it?

**Nights to PROMOTE** at realistic true edges, each objective alone: MAE 0.3 points better
(player-game simulation: points ``round(N(m, 5))``, predictions ``m + k (y - m) + N(0, 1.5)``, a
per-date skill swing of 0.3 points; bets at -110 by ``common/betting.py``), CLV +1.5 percentage
points of no-vig probability per bet (per-bet sd 0.04), ROI +3% (win probability 0.5395 vs the
break-even 0.5238 at -110: the same edge as +1.5 points of probability, measured in money). Bets:
40% of a night's 5-200 graded players. Median night of the first PROMOTE over 1,000 nights.

Two rules side by side:

* **new**: ``common/grading/compare.py`` / ``objective.py`` / ``sequential.py`` as shipped (imported,
  not copied): Lai's CS on 5-night block means, variance floor, restart after a contradiction,
  the objective decides, the others guard, ``ALPHA / (k (k + 1))`` for the k-th challenger;
* **today**: the rule it replaces (issue 14, restated below): Lai's CS on the daily MAE and ROI
  differences at ``ALPHA / 2`` each, running intersection, PROMOTE when better on either by its
  margin and worse on neither, every challenger at the full level.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import betting  # noqa: E402
from common.grading.compare import VerdictRule, daily_differences  # noqa: E402
from common.grading.objective import ALPHA, METRICS, PROMOTE, VERDICTS, challenger_share, verdict_codes  # noqa: E402
from common.grading.sequential import BLOCK_NIGHTS, confidence_sequence, monitor  # noqa: E402

SEED = 20261206
NIGHTS, LONG = 160, 1000
SD = {"mae": 0.36, "roi": 0.135, "clv": 0.009}  # night-to-night sd of each daily difference
RULE = VerdictRule()
BARE = VerdictRule(margin_mae=0.0, margin_roi=0.0, margin_clv=0.0)
PROMOTED = VERDICTS.index(PROMOTE)


# -- the two rules on daily series (arrays: seasons x nights) ---------------------------------------
def new_first(
    series: dict[str, np.ndarray], objective: str, rule: VerdictRule, share: np.ndarray | float
) -> np.ndarray:
    """Per sequence: the first night (1-based) the new rule says PROMOTE, 0 = never."""
    level = ALPHA * np.asarray(share)
    bounds = {}
    for key, x in series.items():
        seq = monitor(x, level, METRICS[key].floor / np.sqrt(BLOCK_NIGHTS))
        bounds[key] = (seq.low, seq.high)
    return _first(verdict_codes(bounds, objective, rule.margins)[0] == PROMOTED)


def today_codes(
    mae: tuple[np.ndarray, np.ndarray], roi: tuple[np.ndarray, np.ndarray], rule: VerdictRule
) -> np.ndarray:
    """Today's rule (issue 14) on CS bounds: PROMOTE when better on either by its margin, worse on neither."""
    broken = (mae[0] > mae[1]) | (roi[0] > roi[1])
    better = (mae[1] < -rule.margin_mae) | (roi[0] > rule.margin_roi)
    worse = (mae[0] > 0) | (roi[1] < 0)
    return better & ~worse & ~broken


def today_first(series: dict[str, np.ndarray], rule: VerdictRule) -> np.ndarray:
    mae, roi = (confidence_sequence(series[k], ALPHA / 2) for k in ("mae", "roi"))
    return _first(today_codes(mae, roi, rule))


def today_window_first(series: dict[str, np.ndarray], rule: VerdictRule, window: int = 30) -> np.ndarray:
    """Today's rule on the last ``window`` nights, read every night (``compare --days 30`` as advice)."""
    promoted = np.zeros(series["mae"].shape, dtype=bool)
    for night in range(series["mae"].shape[-1]):
        part = {k: v[..., max(0, night - window + 1) : night + 1] for k, v in series.items()}
        mae, roi = (tuple(b[..., -1] for b in confidence_sequence(part[k], ALPHA / 2)) for k in ("mae", "roi"))
        promoted[..., night] = today_codes(mae, roi, rule)  # type: ignore[arg-type]
    return _first(promoted)


def _first(promoted: np.ndarray) -> np.ndarray:
    return np.where(promoted.any(axis=-1), promoted.argmax(axis=-1) + 1, 0)


# -- daily series under each scenario --------------------------------------------------------------
def _shocks(rng: np.random.Generator, shape: tuple[int, ...], rho: float, heavy: bool) -> np.ndarray:
    """Unit-sd nightly noise: AR(1) with correlation ``rho``, normal or t(3) innovations."""
    e = rng.standard_t(3, shape) / np.sqrt(3.0) if heavy else rng.normal(0.0, 1.0, shape)
    e *= np.sqrt(1 - rho * rho)
    x = np.empty(shape)
    x[..., 0] = e[..., 0] / np.sqrt(1 - rho * rho)
    for t in range(1, shape[-1]):
        x[..., t] = rho * x[..., t - 1] + e[..., t]
    return x


def scenario(rng: np.random.Generator, name: str, seasons: int, challengers: int = 1) -> dict[str, np.ndarray]:
    """Each metric's daily challenger − champion differences for equal models (shape: seasons x
    challengers x nights; the champion's own noise is shared by all its challengers)."""
    shape = (seasons, challengers + 1, NIGHTS)
    rho = {"ar0.2": 0.2, "ar0.4": 0.4}.get(name, 0.0)
    scale = np.ones(shape)
    if name == "uneven":
        players = rng.integers(5, 201, (seasons, 1, NIGHTS))
        scale = np.broadcast_to(np.sqrt(np.median(players) / players), shape)
    out = {}
    for key, sd in SD.items():
        raw = _shocks(rng, shape, rho, name == "t3") * scale * sd / np.sqrt(2)
        diff = raw[:, 1:] - raw[:, :1]  # each challenger minus the shared champion
        if name == "regime":  # the challenger becomes worse by 0.4 points of MAE (1.1 daily sd) on every metric
            change = rng.integers(15, 31, (seasons, 1, 1))
            diff = diff - METRICS[key].better * (0.4 / SD["mae"]) * sd * (np.arange(NIGHTS) >= change)
        out[key] = diff
    return out


CELLS = (
    ("independent nights", "independent", 1),
    ("AR(1) rho = 0.2", "ar0.2", 1),
    ("AR(1) rho = 0.4", "ar0.4", 1),
    ("t(3) shocks", "t3", 1),
    ("uneven slates (5-200)", "uneven", 1),
    ("regime change (then worse)", "regime", 1),
    ("5 challengers", "independent", 5),
    ("30 challengers", "independent", 30),
)


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float, float]:
    """The rate and its Wilson 95% interval."""
    p = hits / n
    centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return p, (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def _rate(first: np.ndarray) -> str:
    p, low, high = wilson(int((first > 0).any(axis=-1).sum()), first.shape[0])
    return f"{p:6.1%} [{low:.1%}, {high:.1%}]"


def false_promotions(rng: np.random.Generator, seasons: int, chunk: int) -> None:
    print(f"\nFalse promotions, equal models: {seasons} seasons per cell, {NIGHTS} nights each, checked nightly "
          "(rate [Wilson 95%])")  # fmt: skip
    head = ["scenario", "today", "today, margins 0", "new, objective mae", "new, clv", "new, roi", "new, margins 0"]
    print(" | ".join(f"{h:>26}" if i == 0 else f"{h:>22}" for i, h in enumerate(head)))
    for label, name, challengers in CELLS:
        cols: list[list[np.ndarray]] = [[] for _ in range(6)]
        share = np.array([challenger_share(k) for k in range(1, challengers + 1)])[None, :]
        for begin in range(0, seasons, max(1, chunk // challengers)):
            size = min(max(1, chunk // challengers), seasons - begin)
            s = scenario(rng, name, size, challengers)
            cols[0].append(today_first(s, RULE))
            cols[1].append(today_first(s, BARE))
            for i, objective in enumerate(("mae", "clv", "roi")):
                cols[2 + i].append(new_first(s, objective, RULE, share))
            cols[5].append(new_first(s, "mae", BARE, share))
        print(f"{label:>26} | " + " | ".join(f"{_rate(np.concatenate(c)):>22}" for c in cols))
    window: list[np.ndarray] = []
    for begin in range(0, seasons, chunk):
        window.append(today_window_first(scenario(rng, "independent", min(chunk, seasons - begin)), RULE))
    print(f"{'30-day window, nightly':>26} | {_rate(np.concatenate(window)):>22} | {'':>22} | "
          f"{'n/a: compare --days is a fixed window read once; advice and promote read the sequence':>22}")  # fmt: skip


def regime_power(rng: np.random.Generator, seasons: int) -> None:
    """Equal, then 0.4 points better: inverted intervals today, reported contradictions and restarts now."""
    for first, last in ((15, 30), (60, 90)):
        s = scenario(rng, "independent", seasons)
        change = rng.integers(first, last + 1, (seasons, 1, 1))
        s["mae"] = s["mae"] - 0.4 * (np.arange(NIGHTS) >= change)
        low, high = confidence_sequence(s["mae"], ALPHA / 2)
        promoted = today_codes((low, high), confidence_sequence(s["roi"], ALPHA / 2), RULE)
        lost = promoted.any(axis=-1) & ~promoted[..., -1]
        seq = monitor(s["mae"], ALPHA / 4, METRICS["mae"].floor / np.sqrt(BLOCK_NIGHTS))
        print(f"\nRegime change (equal for {first}-{last} nights, then 0.4 points better), {seasons} seasons:")
        inverted, kept = (low[..., -1] > high[..., -1]).mean(), promoted[..., -1].mean()
        print(f"  today: ends with an inverted interval (low > high) in {inverted:.1%}, PROMOTE then lost in "
              f"{lost.mean():.1%}, promoted at the end in {kept:.1%}")  # fmt: skip
        new = new_first(s, "mae", RULE, 0.5)
        print(f"  new: inverted intervals on {(seq.low > seq.high).mean():.1%} of nights; a contradiction reported "
              f"and the sequence restarted in {seq.contradicted.any(axis=-1).mean():.1%} of seasons; promoted by "
              f"night {NIGHTS} in {(new > 0).mean():.1%} (median night {_median(new, NIGHTS)})")  # fmt: skip
    flip_power(rng, seasons)


def flip_power(rng: np.random.Generator, seasons: int) -> None:
    """0.3 points better for 40-60 nights, then 0.3 worse: does a PROMOTE outlive the change?"""
    s = scenario(rng, "independent", seasons)
    nights = np.arange(NIGHTS)
    change = rng.integers(40, 61, (seasons, 1, 1))
    s["mae"] = s["mae"] + np.where(nights < change, -0.3, 0.3)
    today = today_codes(confidence_sequence(s["mae"], ALPHA / 2), confidence_sequence(s["roi"], ALPHA / 2), RULE)
    seq = monitor(s["mae"], ALPHA / 4, METRICS["mae"].floor / np.sqrt(BLOCK_NIGHTS))
    new = -seq.high > RULE.margin_mae
    print(f"\nBetter, then worse (0.3 points better for 40-60 nights, then 0.3 worse), {seasons} seasons:")
    for name, promoted in (("today", today), ("new", new)):
        late = (promoted & (nights >= change + 30)).any(axis=-1).mean()
        before = (promoted & (nights < change)).any(axis=-1).mean()
        print(f"  {name}: PROMOTE before the change in {before:.1%}, still PROMOTE 30+ nights after it in "
              f"{late:.1%}, on night {NIGHTS} in {promoted[..., -1].mean():.1%}")  # fmt: skip


# -- nights to PROMOTE per objective ---------------------------------------------------------------
SKILL, NOISE, BOOK_NOISE, SPREAD, SWING = 0.15, 1.5, 2.0, 5.0, 0.3


def _player_games(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = rng.uniform(6, 30, n)
    y = np.maximum(0, np.round(rng.normal(m, SPREAD)))
    return m, y, np.round((m + rng.normal(0, BOOK_NOISE, n)) * 2) / 2


def calibrate(target: float, n: int = 400_000) -> tuple[float, float]:
    """(MAE points per unit of skill, the skill gain worth ``target`` points), on one fixed sample."""
    rng = np.random.default_rng(1)
    m, y, _ = _player_games(rng, n)
    noise = rng.normal(0, NOISE, n)

    def mae_at(skill: float) -> float:
        return float(np.abs((1 - skill) * (y - m) - noise).mean())

    slope = (mae_at(SKILL - 0.02) - mae_at(SKILL + 0.02)) / 0.04
    lo, hi = 0.0, 0.5
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mae_at(SKILL) - mae_at(SKILL + mid) < target else (lo, mid)
    return slope, (lo + hi) / 2


def mae_series(rng: np.random.Generator, seasons: int, gain: float, slope: float) -> dict[str, np.ndarray]:
    """Player-game seasons (5-200 graded players a night): daily MAE and ROI differences."""
    days = seasons * NIGHTS
    key = np.repeat(np.arange(days), rng.integers(5, 201, days))
    u = rng.normal(0, SWING / (2 * slope), days)[key]
    m, y, line = _player_games(rng, len(key))
    err, won, bet = [], [], []
    for skill in (SKILL + gain + u, SKILL - u):
        pred = m + skill * (y - m) + rng.normal(0, NOISE, len(m))
        bets = betting.grade(pred, y, line)
        outcome = np.where(bets.won, betting.WON, np.where(bets.bet, betting.LOST, betting.NO_BET))
        err.append(np.abs(y - pred))
        won.append(betting.units(outcome, RULE.payout))
        bet.append(outcome != betting.NO_BET)
    mae, roi = daily_differences(key, days, (err[0], err[1]), (won[0], won[1]), (bet[0], bet[1]))
    return {"mae": mae.reshape(seasons, NIGHTS), "roi": roi.reshape(seasons, NIGHTS),
            "clv": np.zeros((seasons, NIGHTS))}  # fmt: skip


def money_series(rng: np.random.Generator, seasons: int, clv_edge: float, roi_edge: float) -> dict[str, np.ndarray]:
    """Bet-level seasons of ``LONG`` nights: daily no-vig CLV and ROI differences (MAE equal)."""
    players = rng.integers(5, 201, (seasons, LONG))
    payout = RULE.payout
    out: dict[str, list[np.ndarray]] = {"clv": [], "roi": []}
    for clv, roi in ((clv_edge, roi_edge), (0.0, 0.0)):
        n = np.maximum(rng.binomial(players, 0.4), 1)
        out["clv"].append(rng.normal(clv, 0.04 / np.sqrt(n)))
        wins = rng.binomial(n, (1 + roi) / (1 + payout))
        out["roi"].append((wins * payout - (n - wins)) / n)
    mae = rng.normal(0, SD["mae"], (seasons, LONG))
    return {"mae": mae, "clv": out["clv"][0] - out["clv"][1], "roi": out["roi"][0] - out["roi"][1]}


def _median(first: np.ndarray, horizon: int) -> str:
    days = np.where(first > 0, first, horizon + 1)
    median = float(np.median(days))
    return f"> {horizon}" if median > horizon else f"{median:g}"


def nights_to_promote(rng: np.random.Generator, seasons: int, pg_seasons: int) -> None:
    slope, gain = calibrate(0.3)
    print(f"\nNights to PROMOTE at realistic edges (first challenger: level {ALPHA * challenger_share(1):g}):")
    print(f"{'objective':>10} | {'true edge':>22} | {'seasons':>7} | {'new: median night':>17} | "
          f"{'new: promoted':>13} | {'today: median night':>19} | daily sd of the difference")  # fmt: skip
    firsts: dict[str, np.ndarray] = {}
    cases: tuple[tuple[str, str, Callable[[], dict[str, np.ndarray]], int], ...] = (
        ("mae", "-0.3 points of MAE", lambda: mae_series(rng, pg_seasons, gain, slope), NIGHTS),
        ("clv", "+1.5 points of no-vig", lambda: money_series(rng, seasons, 0.015, 0.0), LONG),
        ("roi", "+3% ROI", lambda: money_series(rng, seasons, 0.0, 0.03), LONG),
    )
    for objective, edge, make, horizon in cases:
        s = make()
        first = firsts[objective] = new_first(s, objective, RULE, challenger_share(1))
        today = today_first(s, RULE) if objective != "clv" else None
        sd = float(np.nanstd(s[objective] - np.nanmean(s[objective], axis=-1, keepdims=True)))
        was = "n/a" if today is None else _median(today, horizon)
        print(f"{objective:>10} | {edge:>22} | {len(first):>7} | {_median(first, horizon):>17} | "
              f"{(first > 0).mean():>13.1%} | {was:>19} | {sd:.4f}")  # fmt: skip
    clv, roi = (np.median(np.where(firsts[k] > 0, firsts[k], LONG + 1)) for k in ("clv", "roi"))
    print(f"CLV decides {roi / clv:.1f}x faster than ROI (median nights {clv:g} vs {roi:g}{'+' if roi > LONG else ''})")


def run(seasons: int, power_seasons: int, pg_seasons: int, seed: int, chunk: int) -> None:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    print(f"seed {seed}; new rule: {RULE.describe('mae', ALPHA * challenger_share(1))}")
    false_promotions(rng, seasons, chunk)
    regime_power(rng, min(seasons, 1000))
    nights_to_promote(rng, power_seasons, pg_seasons)
    print(f"total {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--seasons", type=int, default=2000, help="seasons per false-promotion cell")
    parser.add_argument("--power-seasons", type=int, default=1000, help="seasons for CLV / ROI nights to promote")
    parser.add_argument("--pg-seasons", type=int, default=200, help="player-game seasons for MAE nights to promote")
    parser.add_argument("--chunk", type=int, default=500, help="sequences simulated at once")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--quick", action="store_true", help="a reduced run (make bench): 200 / 200 / 20 seasons")
    args = parser.parse_args()
    if args.quick:
        args.seasons, args.power_seasons, args.pg_seasons = 200, 200, 20
    run(args.seasons, args.power_seasons, args.pg_seasons, args.seed, args.chunk)


if __name__ == "__main__":
    main()
