"""``modelctl grade``, ``modelctl compare`` and ``modelctl performance``: thin wrappers over common/grading."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.markup import escape

from common.app import open_database, open_registry
from common.cli import options as opt
from common.cli import render
from common.cli.options import date_range
from common.grading.analysis import DEFAULT_DAYS, Performance, compare_models, performance
from common.grading.catalog import REGISTRY, Catalog
from common.grading.compare import ROI_DEFINITION, Comparison, VerdictRule, interval
from common.grading.store import GradingStore
from common.settings import Settings


def open_grading(settings: Settings) -> tuple[GradingStore, Catalog]:
    """The grading tables and the registry's models (the CLI reports registry errors, no fallback)."""
    registry = open_registry(settings)
    return GradingStore(open_database(settings)), Catalog(tuple(registry.list()), REGISTRY, registry.objectives())


# -- grade -------------------------------------------------------------------------------------
def cmd_grade(args: argparse.Namespace, settings: Settings) -> int:
    from common.services.update_performance import update_performance

    dates = date_range(args.date, args.to or args.date)
    summary, advice = update_performance(settings, dates, advise=not args.no_advice)
    if args.json:
        render.print_json({"summary": asdict(summary), "promotion_advice": advice})
        return 0
    render.console.print(summary.describe())
    for line in advice:
        render.console.print(f"promotion advice → {line}")
    return 0


# -- compare -----------------------------------------------------------------------------------
UNKNOWN = "unknown"


def _pct(value: float | None, n: int) -> str:
    return f"{UNKNOWN if value is None else f'{value:.1f}%'} (n={n})"


def _num(value: float | None, digits: int = 3, sign: bool = False) -> str:
    return UNKNOWN if value is None else f"{value:{'+' if sign else ''}.{digits}f}"


def _ci(low: float | None, high: float | None, digits: int = 3, sign: bool = True) -> str:
    """`` [-0.021, +0.094]`` (95% interval), `` [unknown]`` when it cannot be estimated."""
    if low is None or high is None:
        return f" [{UNKNOWN}]"
    return f" [{_num(low, digits, sign)}, {_num(high, digits, sign)}]"


def hit_rate_cell(f: Any) -> str:
    """``54.3% [51.3, 57.3] n=1098 vs 52.4% (above)``: the hit rate, its 95% interval and n, against
    the break-even of the prices bet and whether the whole interval lies above it."""
    if f.hit_rate is None:
        return f"{UNKNOWN} (n={f.n_bets})"
    even = "" if f.break_even is None else f" vs {f.break_even:.1f}%"
    verdict = {True: " above", False: " not above", None: ""}[f.above_break_even]
    return f"{f.hit_rate:.1f}%{_ci(f.hit_rate_low, f.hit_rate_high, 1, False)} n={f.n_bets}{even}{verdict}"


def money_cells(f: Any) -> tuple[str, str, str, str]:
    """Units, ROI, CLV in points and CLV in probability, each with its 95% interval (clustered by date)."""
    return (
        f"{_num(f.units, 2, sign=True)}{_ci(f.units_low, f.units_high, 2)}",
        f"{_num(f.roi, 3, sign=True)}{_ci(f.roi_low, f.roi_high)} {f.n_dates}d",
        f"{_num(f.clv, 2, sign=True)}{_ci(f.clv_low, f.clv_high, 2)} n={f.n_clv}",
        f"{_num(f.clv_prob, 3, sign=True)}{_ci(f.clv_prob_low, f.clv_prob_high)}",
    )


def _sequence(c: Comparison, key: str) -> str:
    e, margin = c.evidence(key), c.margins.margins[key]
    role = "objective" if key == c.objective else "guard"
    return f"{_num(e.estimate, digits=4, sign=True)}  CS {interval(e)} over {e.days} days, {role}, margin {margin:g}"


def comparison_rows(c: Comparison) -> list[tuple[str, str, str, str]]:
    """The compare table: metric, challenger, champion, mean daily difference and its confidence sequence.
    Money figures carry their 95% intervals; ROI follows ``ROI_DEFINITION`` on both sides and in the
    difference."""
    ch, champ = c.challenger, c.champion
    (u_a, roi_a, clv_a, clvp_a), (u_b, roi_b, clv_b, clvp_b) = money_cells(ch), money_cells(champ)
    return [
        ("MAE (points)", _num(ch.mae), _num(champ.mae), _sequence(c, "mae")),
        ("ROI (units/bet, mean of daily ROI)", roi_a, roi_b, _sequence(c, "roi")),
        ("units won (each bet at its price)", u_a, u_b, ""),
        ("CLV (no-vig probability per bet)", clvp_a, clvp_b, _sequence(c, "clv")),
        ("CLV (closing - bet line toward the pick)", clv_a, clv_b, ""),
        ("hit rate vs break-even", hit_rate_cell(ch), hit_rate_cell(champ), ""),
        (
            "edge 3+ hit rate",
            _pct(ch.hit_rate_edge_3plus, ch.n_edge_3plus),
            _pct(champ.hit_rate_edge_3plus, champ.n_edge_3plus),
            "",
        ),
    ]


def print_comparison(c: Comparison) -> None:
    """The human-readable comparison, verdict and rule beside each other."""
    span = f"{c.start}..{c.end}" if c.start else "no shared graded days"
    render.table(
        f"{c.challenger.model_id} (challenger) vs {c.champion.model_id} (champion): {span}, "
        f"{c.graded_days} graded days, {c.n_shared} shared player-games",
        ["metric", "challenger", "champion", "mean daily difference (challenger - champion)"],
        comparison_rows(c),
    )
    colour = {"promote": "bold green", "retire": "bold red"}.get(c.verdict, "bold yellow")
    driver = f" (driven by {c.driver})" if c.driver else ""
    window = f" for this fixed {c.window}-day window only" if c.window else ""
    render.console.print(f"Objective: {c.objective} (the family's declared objective; guards: the others)")
    render.console.print(f"Verdict{window}: [{colour}]{c.verdict.upper()}[/]{driver} — {escape(c.reason)}", markup=True)
    if c.note:
        render.console.print(f"Note: {c.note}", markup=False)
    render.console.print(f"Rule: {c.rule}", markup=False)
    render.console.print(
        f"ROI: {ROI_DEFINITION} (so challenger - champion is the mean daily difference); [low, high]: 95% "
        "intervals clustered by date (hit rate: Wilson); prices without a quote at BET_PRICE",
        markup=False,
    )


def cmd_compare(args: argparse.Namespace, settings: Settings) -> int:
    store, catalog = open_grading(settings)
    comparison = compare_models(
        store, catalog, args.challenger, args.vs, args.days, VerdictRule.from_settings(settings)
    )
    if args.plot:
        _plot(store, comparison, Path(args.plot), settings.bet_price)
    if args.json:
        render.print_json({**comparison.to_dict(), "plot": args.plot})
        return 0
    print_comparison(comparison)
    if args.plot:
        render.console.print(f"Plot written to {args.plot}")
    return 0


def _plot(store: GradingStore, c: Comparison, path: Path, bet_price: float) -> None:
    from common.grading.plot import plot_rolling

    end = c.end or store.recent_daily(1)[0] or date.today()
    start = (c.start or end) - timedelta(days=60)
    plot_rolling(store.daily_between(start, end), [c.challenger.model_id, c.champion.model_id], path,
                 bet_price=bet_price)  # fmt: skip


# -- performance -------------------------------------------------------------------------------
PERFORMANCE_COLUMNS = ["model_id", "role", "days", "n", "MAE", "bias", "hit rate [95%] n vs break-even", "edge 3+",
                       "units [95%]", "ROI [95%] dates", "CLV pts [95%] n", "CLV prob [95%]", "pushes", "coverage",
                       "pinball", "pending/void"]  # fmt: skip


def _performance_row(model_id: str, role: str, f: Any) -> tuple[Any, ...]:
    if f is None:
        return (model_id, role, 0, 0, *[UNKNOWN] * (len(PERFORMANCE_COLUMNS) - 4))
    coverage = "" if f.coverage is None else f"{f.coverage:.2f} vs α {f.quantile_alpha:.2f}"
    return (
        model_id, role, f.graded_days, f.n, _num(f.mae, 2), _num(f.bias, 2, sign=True), hit_rate_cell(f),
        _pct(f.hit_rate_edge_3plus, f.n_edge_3plus), *money_cells(f), f.n_pushes, coverage,
        "" if f.pinball is None else _num(f.pinball, 3), f"{f.n_pending}/{f.n_void}",
    )  # fmt: skip


def cmd_performance(args: argparse.Namespace, settings: Settings) -> int:
    store, catalog = open_grading(settings)
    result: Performance = performance(store, catalog, args.days)
    if args.json:
        render.print_json(
            {
                "start": result.start,
                "end": result.end,
                "models": [
                    {"model_id": m, "role": role, "figures": f.to_dict() if f else None}
                    for m, role, f in result.figures
                ],
            }
        )
        return 0
    span = f"{result.start}..{result.end}" if result.start else "nothing graded yet"
    render.table(
        f"Live performance of active models ({span}, out-of-sample days only; each bet settled at its own "
        "line and price, BET_PRICE where it has none; ROI pooled: units over bets; CLV: closing minus bet line "
        "toward the pick, and the bet's win probability read from the close at its line minus its no-vig "
        "probability at the bet (multiplicative); [low, high]: "
        "95% intervals clustered by date, hit rate: Wilson)",
        PERFORMANCE_COLUMNS,
        [_performance_row(*row) for row in result.figures],
    )
    return 0


def register(sub: argparse._SubParsersAction, add: Any) -> None:
    p = add(sub, "grade", cmd_grade)
    p.add_argument("--date", required=True, type=opt.iso_date, help="first game date (YYYY-MM-DD)")
    p.add_argument("--to", type=opt.iso_date, help="last game date, inclusive (default: --date)")
    p.add_argument("--no-advice", action="store_true", help="do not post promotion advice")
    p = add(sub, "compare", cmd_compare)
    p.add_argument("challenger", type=opt.model_id)
    p.add_argument(
        "--vs", metavar="CHAMPION", type=opt.model_id, help="compare with this model (default: the current champion)"
    )
    p.add_argument(
        "--days",
        type=opt.days,
        help="only the last N shared graded days (default: all since both training ends, as the nightly "
        "advice and promote use; a shorter sequence restarts the confidence sequences)",
    )
    p.add_argument("--plot", metavar="FILE", help="write a PNG of rolling hit rate and MAE per model")
    p = add(sub, "performance", cmd_performance)
    p.add_argument("--days", type=opt.days, default=DEFAULT_DAYS, help=f"days to look back (default {DEFAULT_DAYS})")
