"""The six production families on a full synthetic season: bench/README.md's quality table.

Run: .venv/bin/python bench/family_metrics.py [--seed 7] [--iterations 1000]   (about two minutes on 2 cores)

Each family trains on 2025-10-21..2026-02-28 and is evaluated on 2026-03-01..2026-04-12
(six weeks), through the same ``train`` service ``modelctl train`` uses, graded against
the lines as of PREDICT_LEAD_MINUTES before each slate's first tip-off (``--use-production-lines``:
what production bets) and, for comparison, the opening lines.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.data.synth import generate_season  # noqa: E402
from common.registry.naming import parse_family  # noqa: E402
from common.training.request import TrainRequest  # noqa: E402
from common.training.trainer import train  # noqa: E402

FAMILIES = ("v9_mae", "v9_q43", "v9_q45", "v12_noveg_mae", "v12_noveg_q43", "v12_noveg_q45")
TRAIN = (date(2025, 10, 21), date(2026, 2, 28))
EVAL = (date(2026, 3, 1), date(2026, 4, 12))


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=1000)
    args = parser.parse_args()
    season = generate_season("2025-26", args.seed)
    print(f"season 2025-26 seed {args.seed}; train {TRAIN[0]}..{TRAIN[1]}, eval {EVAL[0]}..{EVAL[1]}\n")
    print("| family | MAE | bias | hit rate | edge 3+ at the lead (n) | edge 3+ vs opening (n) | coverage | gates |")
    print("|---|---|---|---|---|---|---|---|")
    for family in FAMILIES:
        request = TrainRequest.for_family(
            parse_family(family),
            name="family metrics",
            train_start=TRAIN[0],
            train_end=TRAIN[1],
            eval_start=EVAL[0],
            eval_end=EVAL[1],
            use_production_lines=True,
            iterations=args.iterations,
        )
        closing = train(request, season)
        opening = train(replace(request, use_production_lines=False), season).metrics
        m = closing.metrics
        coverage = "" if m.coverage is None else f"{m.coverage:.3f} (α {request.quantile_alpha:g})"
        gates = "pass" if closing.passed else "FAIL: " + "; ".join(closing.failures())
        edges = f"{pct(m.hit_rate_edge_3plus)} ({m.n_edge_3plus})"
        edges += f" | {pct(opening.hit_rate_edge_3plus)} ({opening.n_edge_3plus})"
        print(
            f"| {family} | {m.mae:.2f} | {m.bias:+.2f} | {pct(m.hit_rate)} | {edges} | {coverage} | {gates} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
