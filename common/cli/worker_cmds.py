"""``modelctl predict`` and ``modelctl workers``."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from rich.text import Text

from common.cli import options as opt
from common.cli import render
from common.errors import AppError
from common.manifest import ServingLag
from common.settings import Settings


def cmd_predict(args: argparse.Namespace, settings: Settings) -> int:
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
    from common.worker.acks import AckStore

    acks = AckStore.open(settings.registry_url).list()
    lag, lag_text = _serving_lag(settings)

    def behind(generation: int, source: str) -> bool:  # serving that manifest generation, or older
        return lag is not None and lag.behind and source == "manifest" and generation <= (lag.manifest_generation or 0)

    if args.json:
        render.print_json(
            [
                {**asdict(a), "behind_registry": behind(a.generation, a.source), "serving_manifest": lag_text}
                for a in acks
            ]
        )
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
                "; ".join(p for p in (a.problem, "behind the registry" if behind(a.generation, a.source) else "") if p),
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
    p.add_argument("--date", required=True, type=opt.iso_date, help="game date (YYYY-MM-DD)")
    p.add_argument(
        "--as-of",
        type=opt.moment,
        help="predict as of this moment (ISO timestamp, UTC without an offset); default "
        "PREDICT_LEAD_MINUTES (180) before the date's first tip-off",
    )
    p.add_argument("--top", type=opt.non_negative_int, default=10, help="how many champion picks to show")
    add(sub, "workers", cmd_workers)
