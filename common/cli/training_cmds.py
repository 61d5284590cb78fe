"""``modelctl data generate``, ``modelctl train`` and ``modelctl retrain``: thin wrappers over
``common.data`` and ``common.training``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from common.cli import options as opt
from common.cli import render
from common.cli import training_render as out
from common.cli.extensions import COMMANDS
from common.errors import AppError, GateFailed, NotFound
from common.feature_sets import FEATURE_SETS, feature_set_name, split_feature_set
from common.settings import Settings
from common.training.request import DEFAULT_ITERATIONS, LOSS_FLAGS, TrainRequest, loss_from_flags, parse_day

# Heavy modules (catboost, pandas, the feature pipeline) load inside the handlers,
# so `modelctl list` does not pay for them.


def cmd_data_generate(args: argparse.Namespace, settings: Settings) -> int:
    from common.app import open_database, open_registry
    from common.data.store import data_range, refuse_production, season_fingerprint, write_season
    from common.data.synth import generate_season
    from common.data.validate import closing_coverage

    refuse_production(settings.registry_url, args.i_know_this_is_production)  # before touching anything
    open_registry(settings)  # refuses an out-of-date schema: "run `modelctl migrate`"
    engine = open_database(settings)
    season = generate_season(args.season, args.seed)
    written = write_season(engine, season, into_production=args.i_know_this_is_production)
    span = data_range(engine)
    fingerprint = season_fingerprint(season)
    cover = closing_coverage(season)
    if args.json:
        render.print_json(
            {
                "season": season.season,
                "seed": args.seed,
                "rows": written,
                "seasons": span.seasons,
                "first_date": span.first_date,
                "last_date": span.last_date,
                "fingerprint": fingerprint,
                "closing_line_coverage": {
                    "min": float(cover["coverage"].min()),
                    "mean": round(float(cover["coverage"].mean()), 3),
                },
            }
        )
        return 0
    render.table(
        f"Season {season.season} (seed {args.seed}) written to {settings.registry_url}",
        ["table", "rows"],
        written.items(),
    )
    render.console.print(
        f"{span.seasons} season(s) held, played games {span.first_date}..{span.last_date}; "
        f"fingerprint of {season.season} {fingerprint[:16]}; closing-line coverage per date "
        f"{cover['coverage'].min():.0%}..{cover['coverage'].max():.0%} (mean {cover['coverage'].mean():.0%})"
    )
    return 0


def cmd_data_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the season data (every problem listed, exit 2) and report closing-line coverage."""
    from common.app import open_database
    from common.data.store import load_season
    from common.data.validate import closing_coverage

    season = load_season(open_database(settings))  # refuses invalid data, listing every problem
    cover = closing_coverage(season, args.date)
    if args.date is not None and cover.empty:
        raise NotFound(f"no played games on {args.date} in the season data")
    if args.json:
        records = cover.assign(game_date=cover["game_date"].dt.date).to_dict(orient="records")
        render.print_json({"valid": True, "seasons": sorted(set(season.games["season"])), "coverage": records})
        return 0
    render.console.print(f"Season data valid: {', '.join(sorted(set(season.games['season'])))}")
    render.table(
        "Closing-line coverage (played player-games with a closing line)",
        ["date", "played", "with closing line", "coverage"],
        [(f"{r.game_date:%Y-%m-%d}", r.played, r.with_closing_line, f"{r.coverage:.1%}") for r in cover.itertuples()],
    )
    return 0


def request_from_args(args: argparse.Namespace) -> TrainRequest:
    """The typed request behind ``modelctl train``'s flags (``InvalidArgument`` when inconsistent)."""
    return TrainRequest(
        name=args.name,
        feature_set=feature_set_name(args.feature_set, args.no_vegas),
        loss_function=loss_from_flags(args.loss, args.quantile_alpha),
        quantile_alpha=args.quantile_alpha,
        train_start=parse_day(args.train_start, "--train-start"),  # type: ignore[arg-type]
        train_end=parse_day(args.train_end, "--train-end"),  # type: ignore[arg-type]
        eval_start=parse_day(args.eval_start, "--eval-start"),
        eval_end=parse_day(args.eval_end, "--eval-end"),
        walkforward=args.walkforward,
        use_production_lines=args.use_production_lines,
        skip_upload=args.skip_auto_upload,
        skip_register=args.skip_auto_register,
        iterations=args.iterations,
        learning_rate=args.learning_rate,
        output_dir=Path(args.output_dir) if args.output_dir else None,
    )


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from common.training.pipeline import run_training

    result = run_training(request_from_args(args), settings, out.progress_bar)
    if args.json:
        render.print_json(out.train_json(result))
    else:
        out.train_report(result)
    result.raise_for_gates()
    return 0


def cmd_retrain(args: argparse.Namespace, settings: Settings) -> int:
    from common.announce import batched_changes
    from common.app import open_database, open_registry
    from common.data.store import data_range
    from common.training.retrain import plan_retrain, run_retrain, select_families

    registry = open_registry(settings)
    families = select_families(registry, args.family, args.all)
    span = data_range(open_database(settings))
    plans = plan_retrain(registry, span, families, args.iterations)
    if args.dry_run:
        if args.json:
            render.print_json(
                [{"family": p.family, "based_on": p.based_on.model_id, "command": p.command} for p in plans]
            )
            return 0
        out.plans_table(plans, span.last_date)
        render.console.print("Dry run, nothing changed. These commands would run:")
        for plan in plans:
            render.console.print(plan.command, markup=False, highlight=False, soft_wrap=True)
        return 0
    with batched_changes():  # one registry-change message: one manifest rebuild, one summary note
        outcomes = run_retrain(plans, settings, registry, args.enable, out.progress_bar)
    if args.json:
        render.print_json(out.retrain_json(outcomes))
    else:
        out.plans_table(plans, span.last_date)
        out.retrain_summary(outcomes)
    _raise_for_failures(outcomes)
    return 0


def _raise_for_failures(outcomes: list[Any]) -> None:
    """One error for the whole run: ``GateFailed`` if only gates failed, else the first error's kind."""
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        return
    reasons = "; ".join(f"{o.plan.family}: {o.error or ', '.join(o.result.failures())}" for o in failed)
    errors = [o.error for o in failed if o.error is not None]
    kind: type[AppError] = type(errors[0]) if errors else GateFailed
    raise kind(f"{len(failed)} of {len(outcomes)} families not retrained ({reasons})")


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, help="experiment name; prefixes the model's description")
    bases = sorted({split_feature_set(n)[0] for n in FEATURE_SETS})
    p.add_argument("--feature-set", choices=bases, default="v9", help="feature set (default v9)")
    p.add_argument("--no-vegas", action="store_true", help="drop the betting-line features (v12 → v12_noveg)")
    p.add_argument(
        "--loss", choices=sorted(LOSS_FLAGS), help="loss (default: quantile when --quantile-alpha is given, else mae)"
    )
    p.add_argument("--quantile-alpha", type=float, help="quantile to fit, e.g. 0.43 (implies --loss quantile)")
    p.add_argument("--train-start", required=True, help="first training date (YYYY-MM-DD)")
    p.add_argument("--train-end", required=True, help="last training date (YYYY-MM-DD)")
    p.add_argument("--eval-start", help="first eval date (default: the day after --train-end)")
    p.add_argument("--eval-end", help="last eval date (default: 14 days of eval, cut at the latest data date)")
    p.add_argument("--walkforward", action="store_true", help="also retrain and report rolling weekly folds")
    p.add_argument(
        "--use-production-lines",
        action="store_true",
        help="grade and settle at the line and prices production would have bet: each row's snapshot as of "
        "PREDICT_LEAD_MINUTES before its date's first tip-off (default: the opening lines)",
    )
    p.add_argument("--skip-auto-upload", action="store_true", help="do not upload (implies no registration)")
    p.add_argument(
        "--skip-auto-register",
        action="store_true",
        help="upload under staging/ in the bucket, which the finalize trigger and watch never register",
    )
    p.add_argument(
        "--iterations", type=opt.positive_int, default=DEFAULT_ITERATIONS, help="boosting iterations (default 1000)"
    )
    p.add_argument("--learning-rate", type=opt.positive_float, help="default: 50/iterations, at most 0.3")
    p.add_argument("--output-dir", help="also save the .cbm in this folder")


def register(sub: argparse._SubParsersAction, add: Any) -> None:
    """Add ``data``, ``train`` and ``retrain`` to ``modelctl``."""
    data = sub.add_parser("data", help=COMMANDS["data"].help, description=COMMANDS["data"].help)
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = add(
        data_sub,
        "generate",
        cmd_data_generate,
        "write a seeded synthetic season into the season tables (replaces that season only; others stay)",
    )
    p.add_argument("--season", default="2025-26", help="season label YYYY-YY (default 2025-26)")
    p.add_argument(
        "--seed",
        type=opt.non_negative_int,
        default=7,
        help="random seed; the same seed gives the same data (default 7)",
    )
    p.add_argument(
        "--i-know-this-is-production",
        action="store_true",
        help="allow replacing the season tables of a bigquery:// registry with synthetic data",
    )

    p = add(data_sub, "check", cmd_data_check, "validate the season data and report closing-line coverage per date")
    p.add_argument("--date", type=opt.iso_date, help="one game date (YYYY-MM-DD); default every date")

    p = add(sub, "train", cmd_train)
    _add_train_flags(p)

    p = add(sub, "retrain", cmd_retrain)
    p.add_argument("--family", type=opt.family, help="one family, e.g. v9_q43")
    p.add_argument("--all", action="store_true", help="every family with a non-retired model")
    p.add_argument("--enable", action="store_true", help="enable each new model whose gates passed")
    p.add_argument("--dry-run", action="store_true", help="print the exact train commands; change nothing")
    p.add_argument("--iterations", type=opt.positive_int, help="boosting iterations for every run (default 1000)")
