"""Coverage of the ROI interval (common/grading/uncertainty.py) on nights that cluster, as real nights do.

Each simulated window has G dates of about 35 bets; every date has a shared shock to the win
probability (a night that suits the model or not) and the prices vary from -130 to +110. The true
ROI is the expected units per bet of the generating model. For 2,000 windows per G the bench
prints how often each 95% interval contains the true ROI:

* **per bet**: a normal interval treating every bet as independent (what ignoring the dates gives);
* **by date**: ``uncertainty.clustered_ratio`` (cluster-robust by date, CR1, t with G-1 df).

Run: ``PYTHONPATH=$PWD .venv/bin/python bench/bench_intervals.py`` (about 10 s).
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common.betting import win_payouts  # noqa: E402
from common.grading.uncertainty import clustered_ratio  # noqa: E402

REPS = 2000
PRICES = np.array([-130.0, -125.0, -120.0, -115.0, -110.0, -105.0, 100.0, 110.0])
BASE_WIN = 0.53  # the model's average win probability
NIGHT_SD = 0.08  # sd of the shared per-night shock to it


def window(rng: np.random.Generator, dates: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Per-bet units and the date of each bet, per-date bets, and the true expected ROI."""
    bets = rng.poisson(35, dates).clip(5)
    day = np.repeat(np.arange(dates), bets)
    p = np.clip(BASE_WIN + rng.normal(0, NIGHT_SD, dates), 0.05, 0.95)[day]
    pay = win_payouts(rng.choice(PRICES, len(day)))
    won = rng.random(len(day)) < p
    truth = float(np.mean([BASE_WIN * w - (1 - BASE_WIN) for w in win_payouts(PRICES)]))
    # the truth averages over the night shocks too: E[p] is BASE_WIN (clip is negligible at sd 0.08)
    return np.where(won, pay, -1.0), day, bets, truth


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help="200 windows per row: `make bench`'s check that it runs")
    global REPS
    if parser.parse_args().quick:
        REPS = 200
    rng = np.random.default_rng(20)
    began = time.perf_counter()
    print(f"{REPS} windows per row; night shock sd {NIGHT_SD} on a {BASE_WIN:.0%} win probability")
    print(f"{'dates':>6} {'bets':>6} {'per-bet coverage':>17} {'by-date coverage':>17} {'width ratio':>12}")
    for dates in (7, 14, 30):
        hit_bet = hit_date = 0
        widths = []
        for _ in range(REPS):
            units, day, bets, truth = window(rng, dates)
            mean, sd = float(units.mean()), float(units.std(ddof=1))
            half = 1.96 * sd / math.sqrt(len(units))
            hit_bet += mean - half <= truth <= mean + half
            iv = clustered_ratio(np.bincount(day, weights=units, minlength=dates), bets)
            assert iv.low is not None and iv.high is not None
            hit_date += iv.low <= truth <= iv.high
            widths.append((iv.high - iv.low) / (2 * half))
        print(f"{dates:>6} {int(bets.mean() * dates):>6} {hit_bet / REPS:>17.3f} {hit_date / REPS:>17.3f} "
              f"{float(np.mean(widths)):>12.2f}")  # fmt: skip
    print(f"{time.perf_counter() - began:.1f} s, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
