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
from common.errors import InvalidArgument
from common.events import MAX_GRADED_DATES
from common.grading.analysis import DEFAULT_DAYS, Performance, compare_models, performance
from common.grading.catalog import REGISTRY, Catalog
from common.grading.compare import Comparison, Evidence, VerdictRule, interval
from common.grading.store import GradingStore
from common.settings import Settings


def open_grading(settings: Settings) -> tuple[GradingStore, Catalog]:
    """The grading tables and the registry's models (the CLI reports registry errors, no fallback)."""
    registry = open_registry(settings)
    return GradingStore(open_database(settings)), Catalog(tuple(registry.list()), REGISTRY)


def date_range(first: date, last: date) -> list[date]:
    if last < first:
        raise InvalidArgument(f"--to {last} is before --date {first}")
    if (last - first).days >= MAX_GRADED_DATES:
        raise InvalidArgument(f"at most {MAX_GRADED_DATES} dates per run")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# -- grade -------------------------------------------------------------------------------------
def cmd_grade(args: argparse.Namespace, settings: Settings) -> int:
    from common.grading.service import update_performance

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
def _pct(value: float | None, n: int) -> str:
    return f"{'n/a' if value is None else f'{value:.1f}%'} (n={n})"


def _num(value: float | None, digits: int = 3, sign: bool = False) -> str:
    return "n/a" if value is None else f"{value:{'+' if sign else ''}.{digits}f}"


def _sequence(e: Evidence, margin: float | None) -> str:
    tail = "not in the verdict" if margin is None else f"margin {margin:g}"
    return f"{_num(e.estimate, sign=True)}  CS {interval(e)} over {e.days} days, {tail}"


def comparison_rows(c: Comparison) -> list[tuple[str, str, str, str]]:
    """The compare table: metric, challenger, champion, mean daily difference and its confidence sequence."""
    ch, champ, m = c.challenger, c.champion, c.margins
    return [
        ("MAE (points)", _num(ch.mae), _num(champ.mae), _sequence(c.mae, m.margin_mae)),
        (f"ROI (units/bet at {m.bet_price:+g})", _num(ch.roi, sign=True), _num(champ.roi, sign=True),
         _sequence(c.roi, m.margin_roi)),
        ("units won", _num(ch.units, 2, sign=True), _num(champ.units, 2, sign=True), ""),
        ("CLV (points toward the pick)", f"{_num(ch.clv, 2, sign=True)} (n={ch.n_clv})",
         f"{_num(champ.clv, 2, sign=True)} (n={champ.n_clv})", _sequence(c.clv, None)),
        ("hit rate", _pct(ch.hit_rate, ch.n_bets), _pct(champ.hit_rate, champ.n_bets), ""),
        (
            "edge 3+ hit rate",
            _pct(ch.hit_rate_edge_3plus, ch.n_edge_3plus),
            _pct(champ.hit_rate_edge_3plus, champ.n_edge_3plus),
            "",
        ),
    ]  # fmt: skip


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
    render.console.print(f"Verdict: [{colour}]{c.verdict.upper()}[/]{driver} — {escape(c.reason)}", markup=True)
    render.console.print(f"Rule: {c.rule}", markup=False)


def cmd_compare(args: argparse.Namespace, settings: Settings) -> int:
    store, catalog = open_grading(settings)
    comparison = compare_models(
        store, catalog, args.challenger, args.vs, args.days, VerdictRule.from_settings(settings)
    )
    if args.plot:
        _plot(store, comparison, Path(args.plot))
    if args.json:
        render.print_json({**comparison.to_dict(), "plot": args.plot})
        return 0
    print_comparison(comparison)
    if args.plot:
        render.console.print(f"Plot written to {args.plot}")
    return 0


def _plot(store: GradingStore, c: Comparison, path: Path) -> None:
    from common.grading.plot import plot_rolling

    end = c.end or store.recent_daily(1)[0] or date.today()
    start = (c.start or end) - timedelta(days=60)
    plot_rolling(store.daily_between(start, end), [c.challenger.model_id, c.champion.model_id], path)


# -- performance -------------------------------------------------------------------------------
PERFORMANCE_COLUMNS = ["model_id", "role", "days", "n", "MAE", "bias", "hit rate", "edge 3+", "units", "ROI",
                       "CLV (n)", "coverage", "pinball", "pending/void"]  # fmt: skip


def _performance_row(model_id: str, role: str, f: Any) -> tuple[Any, ...]:
    if f is None:
        return (model_id, role, 0, 0, *[""] * (len(PERFORMANCE_COLUMNS) - 4))
    coverage = "" if f.coverage is None else f"{f.coverage:.2f} vs α {f.quantile_alpha:.2f}"
    clv = "" if f.clv is None else f"{f.clv:+.2f} ({f.n_clv})"
    return (
        model_id, role, f.graded_days, f.n, _num(f.mae, 2), _num(f.bias, 2, sign=True),
        _pct(f.hit_rate, f.n_bets), _pct(f.hit_rate_edge_3plus, f.n_edge_3plus), _num(f.units, 2, sign=True),
        _num(f.roi, 3, sign=True), clv, coverage, "" if f.pinball is None else _num(f.pinball, 3),
        f"{f.n_pending}/{f.n_void}",
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
        f"Live performance of active models ({span}, out-of-sample days only; units and ROI at BET_PRICE "
        "when graded; CLV: mean closing-line move toward the pick, points)",
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
