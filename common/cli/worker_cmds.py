"""``modelctl predict`` and ``modelctl workers``."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import date
from typing import Any

from rich.text import Text

from common.cli import options as opt
from common.cli import render
from common.errors import AppError, InvalidArgument
from common.manifest import ServingLag
from common.settings import Settings


def cmd_predict(args: argparse.Namespace, settings: Settings) -> int:
    if _range_of(args) is not None:
        return cmd_backfill(args, settings)
    from common.sql import engine_session
    from common.worker.worker import Worker  # numpy/pandas/catboost: only when predicting

    # one slate: building fused ensembles would cost more than they save
    worker = Worker(settings, worker_id="modelctl-predict", fuse=False)
    with engine_session(settings.registry_url):  # one registry connection for the whole command
        try:
            worker.reload(acknowledge=False)
            serving, rows = worker.predict_date(args.date, args.as_of)
            _print_predictions(args, serving, rows)
        finally:
            worker.acknowledge()  # after the answer is out: off the prediction's critical path
    return 0


def _range_of(args: argparse.Namespace) -> list[date] | None:
    """The dates of ``--from D1 --to D2`` (None for one ``--date``); a wrong mix of options refused."""
    ranged = args.first is not None or args.to is not None
    if args.date is not None and ranged:
        raise InvalidArgument("--date scores one date, --from D1 --to D2 a range: give one or the other")
    if args.date is None and not ranged:
        raise InvalidArgument("predict needs --date D, or --from D1 --to D2 for a range")
    if not ranged:
        if args.top is None:
            args.top = 10
        return None
    if args.first is None or args.to is None:
        raise InvalidArgument("--from and --to go together: --from D1 --to D2 (both included)")
    if args.as_of is not None:
        raise InvalidArgument(
            "--as-of is for one --date: each date of a range is predicted as of its own moment "
            "(PREDICT_LEAD_MINUTES before its first tip-off)"
        )
    if args.top is not None:
        raise InvalidArgument("--top shows one date's picks: use it with --date, not with --from/--to")
    return opt.date_range(args.first, args.to, "--from")


def cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    """``predict --from D1 --to D2``: one worker, one engine session, fused scoring, a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from common.sql import engine_session
    from common.worker.backfill import backfill
    from common.worker.worker import Worker

    dates = _range_of(args) or []
    worker = Worker(settings, worker_id="modelctl-backfill", fuse=len(dates) > 1)  # many slates: fuse
    outcomes = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with engine_session(settings.registry_url), Progress(*columns, console=render.err_console, transient=True) as bar:
        try:
            worker.reload(acknowledge=False)
            worker.settle()  # the fused ensembles, before the first slate
            task = bar.add_task("predicting", total=len(dates))
            for outcome in backfill(worker, settings, dates, lambda d: bar.update(task, description=str(d))):
                outcomes.append(outcome)
                bar.advance(task)
                if not args.json:
                    render.console.print(_outcome_line(outcome))
        finally:
            worker.acknowledge()
    serving = worker.current
    champion = serving.champion.model_id if serving.champion else None
    scored = [o for o in outcomes if o.skipped is None]
    if args.json:
        render.print_json(
            {"generation": serving.generation, "source": serving.source, "champion": champion,
             "models": len(serving.models), "dates": [o.to_dict() for o in outcomes]}
        )  # fmt: skip
        return 0
    render.console.print(
        f"{args.first} to {args.to}: {len(scored)} dates scored, {len(outcomes) - len(scored)} without games "
        f"skipped, {sum(o.rows for o in scored)} prediction rows from {len(serving.models)} models "
        f"(generation {serving.generation} via {serving.source}); champion {champion or 'none'}"
    )
    return 0


def _outcome_line(o: Any) -> str:
    if o.skipped is not None:
        return f"{o.game_date}: {o.skipped}, skipped"
    moment = f" as of {o.as_of:%Y-%m-%d %H:%M} UTC" if o.as_of is not None else ""
    return f"{o.game_date}: {o.rows} prediction rows{moment}, {o.players_with_line} of {o.players} players with a line"


def _print_predictions(args: argparse.Namespace, serving: Any, rows: Any) -> None:
    from common.worker.scoring import champion_picks, signals

    champion = serving.champion.model_id if serving.champion else None
    moment = rows["as_of"].iloc[0] if len(rows) else None
    lined = int(rows["line"].notna().sum() // max(len(serving.models), 1)) if len(rows) else 0
    players = len(rows) // max(len(serving.models), 1)
    picks = champion_picks(rows, champion)
    summary = signals(rows)
    if args.json:
        render.print_json(
            {
                "generation": serving.generation,
                "source": serving.source,
                "champion": champion,
                "as_of": None if moment is None else moment.isoformat(),
                "players": players,
                "players_with_line": lined,
                "rows": len(rows),
                "picks": len(picks),
                "signals": summary.to_dict(orient="records"),
            }
        )
        return
    render.console.print(
        f"{args.date}: {len(rows)} prediction rows from {len(serving.models)} models "
        f"(generation {serving.generation} via {serving.source}); champion {champion or 'none'}"
    )
    if moment is not None:
        render.console.print(
            f"as of {moment:%Y-%m-%d %H:%M} UTC: {lined} of {players} players had a line by then "
            "(the others are PASS, no line)"
        )
    render.table("Signals per system_id", list(summary.columns), summary.itertuples(index=False))
    render.table(
        f"User-facing picks (champion only, top {min(args.top, len(picks))} of {len(picks)})",
        ["game_id", "player_id", "pred", "line", "edge", "pick"],
        [
            (p.game_id, p.player_id, f"{p.predicted_points:.1f}", f"{p.line:.1f}", f"{p.edge:+.1f}", p.recommendation)
            for p in picks.head(args.top).itertuples()
        ],
    )


def cmd_workers(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from common.runtime import runtime_for
    from common.worker.acks import AckStore, silent_after

    acks = AckStore(runtime_for(settings).engine()).list()
    lag, lag_text = _serving_lag(settings)
    now, silence = datetime.now(UTC), silent_after(settings)
    manifest = lag.manifest_generation if lag else None

    def behind(generation: int, source: str) -> bool:  # serving that manifest generation, or older
        return lag is not None and lag.behind and source == "manifest" and generation <= (lag.manifest_generation or 0)

    def problems(a: Any) -> str:  # what the dashboard's now-strip flags too (acks.WorkerAck)
        found = (a.problem, "behind the manifest" if a.behind(manifest) else "",
                 f"silent (no ack for over {silence.total_seconds():.0f} s)" if a.silent(now, silence) else "",
                 "behind the registry" if behind(a.generation, a.source) else "")  # fmt: skip
        return "; ".join(p for p in found if p)

    if args.json:
        render.print_json(
            [
                {**asdict(a), "behind_registry": behind(a.generation, a.source), "behind_manifest": a.behind(manifest),
                 "silent": a.silent(now, silence), "serving_manifest": lag_text}
                for a in acks
            ]
        )  # fmt: skip
        return 0
    style = "bold red" if lag is None or lag.behind else ""
    render.console.print(Text(f"Serving manifest: {lag_text}", style=style))
    render.table(
        f"Workers ({len(acks)})",
        ["worker", "generation", "source", "champion", "models (id: sha256)", "problem", "acknowledged (UTC)"],
        [
            (
                a.worker_id,
                a.generation,
                a.source,
                a.champion or "none",
                ", ".join(f"{k}: {v[:8]}" for k, v in a.models.items()),
                problems(a),
                f"{a.acked_at:%Y-%m-%d %H:%M:%S}",
            )
            for a in acks
        ],
    )
    return 0


def _serving_lag(settings: Settings) -> tuple[ServingLag | None, str]:
    """The manifest compared with the registry, and that in words (or why it could not be compared)."""
    from common.app import check_serving, open_registry

    try:
        lag = check_serving(settings, open_registry(settings))
    except AppError as exc:
        return None, str(exc)
    return lag, lag.detail


def register(sub: argparse._SubParsersAction, add: Any) -> None:
    p = add(sub, "predict", cmd_predict)
    p.add_argument("--date", type=opt.iso_date, help="game date (YYYY-MM-DD)")
    p.add_argument(
        "--from",
        dest="first",
        metavar="D1",
        type=opt.iso_date,
        help="first date of a range to score (with --to; a backfill: one process, a progress bar)",
    )
    p.add_argument("--to", metavar="D2", type=opt.iso_date, help="last date of the range (included)")
    p.add_argument(
        "--as-of",
        type=opt.moment,
        help="predict --date as of this moment (ISO timestamp, UTC without an offset); default "
        "PREDICT_LEAD_MINUTES (180) before the date's first tip-off (always so for a range)",
    )
    p.add_argument("--top", type=opt.non_negative_int, help="how many champion picks to show (--date; default 10)")
    add(sub, "workers", cmd_workers)
