"""Does the promotion verdict lie when it is checked every night? A seeded simulation.

Run: .venv/bin/python bench/bench_verdict.py   (about 20 s on 2 cores)

Each simulated season is 60 graded dates of a champion and a challenger predicting the same
player-games (3-12 games a night, 14 props a game). Per player-game: an expected score
``m ~ U(6, 30)``, points ``y = round(N(m, 5))``, the book's line ``m + N(0, 2)`` to the half
point, and each model's prediction ``m + k (y - m) + N(0, 1.5)``: ``k`` is the model's skill
on that night. Bets, pushes and units follow ``common/betting.py`` at -110.

* **Per-date effect** ``s``: on each night the challenger's skill moves by ``+u`` and the
  champion's by ``-u`` (``u ~ N(0, .)``, calibrated so that the night-to-night sd of the daily
  MAE difference it causes is ``s`` points): on nights that suit one model, its errors are
  smaller on most players at once. ``s`` = 0, 0.3, 0.6.
* **A/A**: equal models (same mean skill). Every night the verdict is computed on the data so
  far; a season counts as a false promotion if PROMOTE appears on any night.
* **Power**: the challenger's skill raised so its expected MAE is 0.2 or 0.4 points lower; the
  day of the first PROMOTE (median over seasons; "> 60" when fewer than half promote).

Two rules side by side:

* **new**: ``common/grading/compare.py`` as shipped — Lai t-mixture confidence sequences on
  daily paired MAE and ROI differences, Bonferroni, running intersection, margins 0.05 points /
  0.01 ROI (``daily_differences``, ``confidence_sequence``, ``verdict_codes``, imported, not copied);
* **old**: the rule it replaced (``compare.py`` before issue 14, restated below): a 95%
  percentile bootstrap (2000 resamples) of the mean player-game difference over the last 30
  days, PROMOTE when it lies below 0 (>= 2 days, >= 100 player-games) unless an exact sign test on
  opposite picks favours the champion. To keep the bench fast the bootstrap runs only when the
  normal-theory bound is within 0.3 standard errors of 0 (elsewhere the two agree for n >= 100).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import betting  # noqa: E402
from common.grading.compare import (  # noqa: E402
    ALPHA,
    PROMOTE,
    VERDICTS,
    VerdictRule,
    daily_differences,
    verdict_codes,
)
from common.grading.sequential import confidence_sequence  # noqa: E402

SEED = 20261202
DAYS, PROPS_PER_GAME, GAMES = 60, 14, (3, 12)
SKILL, NOISE, BOOK_NOISE, SPREAD = 0.15, 1.5, 2.0, 5.0
EFFECTS = (0.0, 0.3, 0.6)
IMPROVEMENTS = (0.2, 0.4)
CHUNK = 50  # seasons simulated at once


@dataclass(frozen=True)
class Season:
    """Player-games of a chunk of seasons, flattened; ``key`` = season * DAYS + day."""

    key: np.ndarray
    err: tuple[np.ndarray, np.ndarray]  # challenger, champion
    outcome: tuple[np.ndarray, np.ndarray]  # betting.WON / LOST / NO_BET
    call: tuple[np.ndarray, np.ndarray]  # +1 OVER, -1 UNDER, 0 PASS


def _predictions(rng: np.random.Generator, m: np.ndarray, y: np.ndarray, skill: np.ndarray) -> np.ndarray:
    return m + skill * (y - m) + rng.normal(0, NOISE, len(m))


def _player_games(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = rng.uniform(6, 30, n)
    y = np.maximum(0, np.round(rng.normal(m, SPREAD)))
    line = np.round((m + rng.normal(0, BOOK_NOISE, n)) * 2) / 2
    return m, y, line


def calibrate(n: int = 400_000) -> tuple[float, dict[float, float]]:
    """(MAE points per unit of skill, skill gain for each improvement in points of MAE), on one
    large fixed sample (common random numbers: MAE is then a smooth, decreasing function of skill)."""
    rng = np.random.default_rng(1)
    m, y, _ = _player_games(rng, n)
    noise = rng.normal(0, NOISE, n)

    def mae_at(skill: float) -> float:
        return float(np.abs((1 - skill) * (y - m) - noise).mean())

    h, base = 0.02, mae_at(SKILL)
    slope = (mae_at(SKILL - h) - mae_at(SKILL + h)) / (2 * h)
    gains = {}
    for target in IMPROVEMENTS:
        lo, hi = 0.0, 0.5
        for _ in range(30):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if base - mae_at(SKILL + mid) < target else (lo, mid)
        gains[target] = (lo + hi) / 2
    return slope, gains


def simulate(rng: np.random.Generator, seasons: int, swing: float, gain: float) -> Season:
    """``seasons`` seasons; ``swing``: sd of the nightly skill move u; ``gain``: the challenger's edge."""
    sizes = rng.integers(GAMES[0], GAMES[1] + 1, seasons * DAYS) * PROPS_PER_GAME
    key = np.repeat(np.arange(seasons * DAYS), sizes)
    u = rng.normal(0, swing, seasons * DAYS)[key] if swing > 0 else np.zeros(len(key))
    m, y, line = _player_games(rng, len(key))
    err, outcome, call = [], [], []
    for skill in (SKILL + gain + u, SKILL - u):
        pred = _predictions(rng, m, y, skill)
        bets = betting.grade(pred, y, line)
        err.append(np.abs(y - pred))
        outcome.append(np.where(bets.won, betting.WON, np.where(bets.bet, betting.LOST, betting.NO_BET)))
        call.append(np.where(bets.over, 1, np.where(bets.under, -1, 0)))
    return Season(key, (err[0], err[1]), (outcome[0], outcome[1]), (call[0], call[1]))


def new_rule_first_promote(
    s: Season, seasons: int, rules: tuple[VerdictRule, ...]
) -> tuple[list[np.ndarray], np.ndarray]:
    """Per rule, per season: the first night PROMOTE (1-based; 0 = never); and the daily MAE differences."""
    rule = rules[0]
    won = tuple(betting.units(o, rule.payout) for o in s.outcome)
    bet = tuple(o != betting.NO_BET for o in s.outcome)
    mae, roi = daily_differences(s.key, seasons * DAYS, s.err, won, bet)  # type: ignore[arg-type]
    mae, roi = mae.reshape(seasons, DAYS), roi.reshape(seasons, DAYS)
    bounds = confidence_sequence(mae, ALPHA / 2), confidence_sequence(roi, ALPHA / 2)
    firsts = []
    for each in rules:
        promoted = verdict_codes(*bounds, each)[0] == VERDICTS.index(PROMOTE)
        firsts.append(np.where(promoted.any(axis=1), promoted.argmax(axis=1) + 1, 0))
    return firsts, mae


# -- the old rule (common/grading/compare.py before issue 14), for comparison only ------------------
OLD_WINDOW, OLD_MIN_DAYS, OLD_MIN_SHARED, OLD_SAMPLES, OLD_SEED = 30, 2, 100, 2000, 20260301


def _old_bootstrap_high(diff: np.ndarray) -> float:
    rng = np.random.default_rng(OLD_SEED)
    n = len(diff)
    means = np.empty(OLD_SAMPLES)
    chunk = max(1, min(OLD_SAMPLES, 4_000_000 // n))
    for begin in range(0, OLD_SAMPLES, chunk):
        size = min(chunk, OLD_SAMPLES - begin)
        means[begin : begin + size] = diff[rng.integers(0, n, size=(size, n))].mean(axis=1)
    return float(np.quantile(means, 0.975))


def _old_sign_favours_champion(s: Season, rows: slice) -> bool:
    (oa, ob), (ca, cb) = (o[rows] for o in s.outcome), (c[rows] for c in s.call)
    disagree = (oa != betting.NO_BET) & (ob != betting.NO_BET) & (ca != 0) & (cb != 0) & (ca != cb)
    n, wins = int(disagree.sum()), int((oa[disagree] == betting.WON).sum())
    if n == 0:
        return False
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(min(wins, n - wins) + 1)) / 2**n)
    return p < 0.05 and wins < n - wins


def old_rule_first_promote(s: Season, seasons: int) -> tuple[np.ndarray, int]:
    """Per season: the first night the old rule says PROMOTE (0 = never); and bootstraps run."""
    bounds = np.searchsorted(s.key, np.arange(seasons * DAYS + 1))
    diff = s.err[0] - s.err[1]
    first, bootstraps = np.zeros(seasons, dtype=np.int64), 0
    for season in range(seasons):
        for night in range(OLD_MIN_DAYS, DAYS + 1):
            lo_day = season * DAYS + max(0, night - OLD_WINDOW)
            rows = slice(bounds[lo_day], bounds[season * DAYS + night])
            d = diff[rows]
            if len(d) < OLD_MIN_SHARED or d.mean() >= 0:
                continue
            se = d.std(ddof=1) / math.sqrt(len(d))
            high = d.mean() + 1.96 * se
            if abs(high) < 0.3 * se:
                high, bootstraps = _old_bootstrap_high(d), bootstraps + 1
            if high < 0 and not _old_sign_favours_champion(s, rows):
                first[season] = night
                break
    return first, bootstraps


# -- report ---------------------------------------------------------------------------------------
def _median_day(first: np.ndarray) -> str:
    days = np.where(first > 0, first, DAYS + 1)
    median = float(np.median(days))
    return f"> {DAYS}" if median > DAYS else f"{median:g}"


def run(seasons: int, old_seasons: int, seed: int) -> None:
    started = time.perf_counter()
    slope, gains = calibrate()
    rule = VerdictRule()
    rules = (rule, VerdictRule(margin_mae=0.0, margin_roi=0.0))
    rng = np.random.default_rng(seed)
    print(f"{seasons} seasons per cell (old rule: {old_seasons}), {DAYS} nights, checked every night; seed {seed}")
    print(f"new rule: {rule.describe()}")
    print(f"skill -> MAE: {slope:.2f} points per unit; improvements: " +
          ", ".join(f"{t} pts = +{g:.4f} skill" for t, g in gains.items()))  # fmt: skip
    header = f"{'per-date effect':>15} | {'true gain':>9} | {'new: ever PROMOTE':>17} | {'new: median day':>15} | "
    header += f"{'margins 0: ever':>15} | {'margins 0: median':>17} | "
    print(header + f"{'old: ever PROMOTE':>17} | {'old: median day':>15} | daily MAE diff sd")
    for effect in EFFECTS:
        swing = effect / (2 * slope)
        for gain in (0.0, *IMPROVEMENTS):
            new, bare, old, sds, boots = [], [], [], [], 0
            for begin in range(0, seasons, CHUNK):
                size = min(CHUNK, seasons - begin)
                season = simulate(rng, size, swing, gains.get(gain, 0.0))
                (first, first_bare), mae = new_rule_first_promote(season, size, rules)
                new.append(first)
                bare.append(first_bare)
                sds.append(float(np.std(mae - mae.mean(axis=1, keepdims=True), ddof=1)))
                if begin < old_seasons:
                    got, b = old_rule_first_promote(season, min(size, old_seasons - begin))
                    old.append(got)
                    boots += b
            f_new, f_bare, f_old = np.concatenate(new), np.concatenate(bare), np.concatenate(old)
            label = "A/A" if gain == 0 else f"-{gain} MAE"
            print(
                f"{effect:>15.1f} | {label:>9} | {(f_new > 0).mean():>17.1%} | {_median_day(f_new):>15} | "
                f"{(f_bare > 0).mean():>15.1%} | {_median_day(f_bare):>17} | "
                f"{(f_old > 0).mean():>17.1%} | {_median_day(f_old):>15} | {np.mean(sds):.3f} "
                f"({boots} exact bootstraps)"
            )
    print(f"total {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--seasons", type=int, default=400)
    parser.add_argument("--old-seasons", type=int, default=100)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    run(args.seasons, args.old_seasons, args.seed)


if __name__ == "__main__":
    main()
