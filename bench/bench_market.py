"""The synthetic market: how good the opening, the as-of and the closing lines are, and what the
old look-ahead (grading at the close) was worth to the models.

Run: .venv/bin/python bench/bench_market.py [--seeds 7 8 11] [--iterations 1000]   (about a minute on 2 cores)

Per seed, over every posted prop of the 2025-26 season: MAE of the opening line (first
snapshot), of the line as of PREDICT_LEAD_MINUTES (180) before the slate's first tip-off (what
production bets), and of the closing line (last snapshot, at tip-off); the hold and the favourite's
price; how much nights cluster (sd of the nightly mean miss of the close over that of the same
misses shuffled across nights). Then, for seed 7, a v9 and a v12_noveg MAE model trained on
2025-10-21..2026-02-28 with ``--use-production-lines`` (lines as of the lead time), evaluated on
2026-03-01..2026-04-12: MAE, and the edge-3+ hit rate graded at the lead-time line versus at the
closing line (the size of the old look-ahead), and the edge-3+ ROI settled at the prices of the
snapshot bet (common/betting.py: each bet at its own side's price) — at the lead time (as-of
prices) versus at the close (closing prices) — with n bets, n dates and a 95% interval clustered
by date (common/grading/uncertainty.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import betting  # noqa: E402
from common.data.synth import generate_season  # noqa: E402
from common.data.synth_market import implied  # noqa: E402
from common.grading.uncertainty import clustered_ratio  # noqa: E402
from common.registry.naming import parse_family  # noqa: E402
from common.training import model as cb  # noqa: E402
from common.training.metrics import hit_rate  # noqa: E402
from common.training.request import TrainRequest  # noqa: E402
from common.training.trainer import lined_frame, train, window  # noqa: E402

TRAIN = (date(2025, 10, 21), date(2026, 2, 28))
EVAL = (date(2026, 3, 1), date(2026, 4, 12))


def market_row(seed: int) -> str:
    started = time.perf_counter()
    season = generate_season("2025-26", seed)
    seconds = time.perf_counter() - started
    frame = lined_frame(season)
    miss = lambda col: (frame[col] - frame["actual_points"]).abs().mean()  # noqa: E731
    snaps = season.betting_line_snapshots
    hold = implied(snaps["over_price"]) + implied(snaps["under_price"]) - 1
    favourite = np.minimum(snaps["over_price"], snaps["under_price"])
    residual = frame["actual_points"] - frame["closing_line"]
    nightly = residual.groupby(frame["game_date"]).mean().std()
    shuffled = pd.Series(np.random.default_rng(0).permutation(residual.to_numpy()), index=residual.index)
    ratio = nightly / shuffled.groupby(frame["game_date"]).mean().std()
    return (
        f"| {seed} | {len(frame):,} | {miss('opening_line'):.3f} | {miss('line'):.3f} | {miss('closing_line'):.3f} "
        f"| {hold.min():.1%}..{hold.max():.1%} (median {np.median(hold):.1%}) | {favourite.min()}..{favourite.max()} "
        f"(median {favourite.median():.0f}) | {ratio:.2f} | {seconds:.1f} s |"
    )


def closing_prices(season: object, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The over and under prices of each row's last snapshot (the close)."""
    snaps = season.betting_line_snapshots.sort_values("captured_at")  # type: ignore[attr-defined]
    last = snaps.groupby(["game_id", "player_id"], as_index=False).last()
    merged = rows[["game_id", "player_id"]].merge(last, on=["game_id", "player_id"], how="left")
    return merged["over_price"].to_numpy(np.float64), merged["under_price"].to_numpy(np.float64)


def edge3_roi(pred: np.ndarray, rows: pd.DataFrame, line: str, prices: tuple[np.ndarray, np.ndarray]) -> str:
    """Edge-3+ ROI at ``line`` settled at ``prices``: ``+0.061 [-0.02, +0.14] (n=236, 30 dates)``."""
    graded = betting.grade(pred, rows["actual_points"].to_numpy(), rows[line].to_numpy())
    won = betting.settle(graded, *prices)
    mask = graded.edge_3plus
    day = pd.factorize(rows["game_date"])[0]
    units = np.bincount(day, weights=np.where(mask, won, 0.0))
    bets = np.bincount(day, weights=mask.astype(np.float64))
    ci = clustered_ratio(units[bets > 0], bets[bets > 0])
    low = "unknown" if ci.low is None else f"{ci.low:+.3f}"
    high = "unknown" if ci.high is None else f"{ci.high:+.3f}"
    return f"{ci.estimate:+.3f} [{low}, {high}] (n={int(mask.sum())}, {int((bets > 0).sum())} dates)"


def model_rows(seed: int, iterations: int) -> list[str]:
    from catboost import CatBoostRegressor

    season = generate_season("2025-26", seed)
    rows = window(lined_frame(season), *EVAL)
    out = []
    for family in ("v9_mae", "v12_noveg_mae"):
        request = TrainRequest.for_family(
            parse_family(family), name="bench market", train_start=TRAIN[0], train_end=TRAIN[1],
            eval_start=EVAL[0], eval_end=EVAL[1], use_production_lines=True, iterations=iterations,
        )  # fmt: skip
        result = train(request, season)
        model = CatBoostRegressor()
        model.load_model(blob=result.model_bytes)
        pred = cb.predict(model, rows, request.feature_set)
        actual = rows[cb.TARGET].to_numpy()
        at_lead, n_lead = hit_rate(pred, actual, rows["line"].to_numpy(), edge_3plus=True)
        at_close, n_close = hit_rate(pred, actual, rows["closing_line"].to_numpy(), edge_3plus=True)
        mae = np.abs(pred - actual).mean()
        lead_prices = (rows["over_price"].to_numpy(np.float64), rows["under_price"].to_numpy(np.float64))
        out.append(
            f"| {family} | {mae:.3f} | {rows['closing_line'].sub(actual).abs().mean():.3f} "
            f"| {at_lead or float('nan'):.1f}% ({n_lead}) | {at_close or float('nan'):.1f}% ({n_close}) "
            f"| {edge3_roi(pred, rows, 'line', lead_prices)} "
            f"| {edge3_roi(pred, rows, 'closing_line', closing_prices(season, rows))} |"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 11])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument(
        "--quick", action="store_true", help="one seed, 200 iterations: `make bench`'s check that it runs"
    )
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.iterations = args.seeds[:1], min(args.iterations, 200)
    print("| seed | lined player-games | MAE opening | MAE as of lead (180 min) | MAE closing | hold "
          "| favourite's price | nightly clustering | generate |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        print(market_row(seed))
    print(f"\nseed {args.seeds[0]}: train {TRAIN[0]}..{TRAIN[1]}, eval {EVAL[0]}..{EVAL[1]} (lines as of the lead)\n")
    print("| family | MAE | closing-line MAE | edge 3+ hit rate at the lead-time line (n) | at the closing line (n) "
          "| edge 3+ ROI at the lead-time line and prices [95%] | at the closing line and prices [95%] |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for row in model_rows(args.seeds[0], args.iterations):
        print(row)


if __name__ == "__main__":
    main()
