"""Tables and JSON for ``modelctl train`` / ``retrain`` / ``data``, and their progress bars."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from common.cli import render
from common.training.gates import GateResult
from common.training.metrics import Metrics
from common.training.retrain import RetrainOutcome, RetrainPlan
from common.training.trainer import TrainResult

_STATUS = {
    "pass": render.styled("pass", "green"),
    "FAIL": render.styled("FAIL", "bold red"),
    "skip": render.styled("skip", "dim"),
}


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A tqdm bar on stderr; silent when stderr is not a terminal (logs and pipes stay clean)."""
    from tqdm import tqdm

    with tqdm(total=total, desc=description, leave=False, disable=None, file=sys.stderr, dynamic_ncols=True) as bar:
        yield bar.update


def _num(value: float | None, digits: int = 2, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}{suffix}"


def metric_rows(metrics: Metrics, alpha: float | None) -> list[tuple[str, str]]:
    rows = [
        ("graded player-games", str(metrics.n)),
        ("MAE", _num(metrics.mae)),
        ("bias (pred - actual)", _num(metrics.bias)),
        ("hit rate vs line", f"{_num(metrics.hit_rate, 1, '%')} (n={metrics.n_bets})"),
        ("edge 3+ hit rate", f"{_num(metrics.hit_rate_edge_3plus, 1, '%')} (n={metrics.n_edge_3plus})"),
        ("prediction sd", _num(metrics.prediction_std)),
    ]
    if alpha is not None:
        rows.append(("share below prediction", f"{_num(metrics.coverage, 3)} (alpha {alpha:g})"))
    return rows


def gates_table(gates: tuple[GateResult, ...] | list[GateResult], title: str = "Governance gates") -> None:
    render.table(
        title,
        ["gate", "status", "value", "threshold", "note"],
        [(g.name, _STATUS[g.status], g.value, g.threshold, g.note) for g in gates],
    )


def train_report(result: TrainResult) -> None:
    """The evaluation, one table per walk-forward fold, the gates and where the model went."""
    req = result.request
    render.console.print(
        f"{req.family}: trained on {req.train_start}..{req.train_end} ({result.n_train} player-games), "
        f"evaluated on {req.eval_start}..{req.eval_end} against the {req.grading_line_label}",
        markup=False,
    )
    render.table("Evaluation", ["metric", "value"], metric_rows(result.metrics, req.quantile_alpha))
    for fold in result.folds:
        render.console.print(
            f"Fold {fold.index}: train {fold.train_start}..{fold.train_end} ({fold.n_train}) "
            f"→ eval {fold.eval_start}..{fold.eval_end}",
            markup=False,
        )
        render.table(
            f"Walk-forward fold {fold.index}/{len(result.folds)}",
            ["metric", "value"],
            metric_rows(fold.metrics, req.quantile_alpha),
        )
    gates_table(result.gates)
    if result.passed:
        _publication(result)


def _publication(result: TrainResult) -> None:
    pub = result.publication
    if pub is None:
        return
    if pub.record is not None:
        state = "enabled" if pub.record.enabled else "disabled: `modelctl enable` it after review"
        render.console.print(f"{pub.outcome.replace('_', ' ')}: {pub.record.model_id} ({state})")
        render.record_panel(pub.record)
        return
    where = pub.object_uri or pub.local_path or "nowhere (--skip-auto-upload without --output-dir)"
    render.console.print(f"Gates passed; not registered ({pub.outcome.replace('_', ' ')}). Model file: {where}")


def train_json(result: TrainResult) -> dict[str, Any]:
    pub = result.publication
    return {
        "family": result.request.family,
        "command": result.request.command(),
        "metrics": result.metrics.to_dict(),
        "folds": [
            {
                "index": f.index,
                "train": [f.train_start, f.train_end],
                "eval": [f.eval_start, f.eval_end],
                "metrics": f.metrics.to_dict(),
            }
            for f in result.folds
        ],
        "gates": [
            {"name": g.name, "status": g.status, "value": g.value, "threshold": g.threshold} for g in result.gates
        ],
        "passed": result.passed,
        "card": asdict(result.card),
        "outcome": pub.outcome if pub else None,
        "object": pub.object_uri if pub else None,
        "local_path": str(pub.local_path) if pub and pub.local_path else None,
        "model": pub.record.to_json_dict() if pub and pub.record else None,
    }


def plans_table(plans: list[RetrainPlan], latest: Any) -> None:
    render.table(
        f"Retrain plan (data through {latest})",
        ["family", "based on", "window", "new train", "new eval"],
        [
            (
                p.family,
                p.based_on.model_id,
                f"{(p.based_on.train_end - p.based_on.train_start).days + 1} days",
                f"{p.request.train_start}..{p.request.train_end}",
                f"{p.request.eval_start}..{p.request.eval_end}",
            )
            for p in plans
        ],
    )


def retrain_summary(outcomes: list[RetrainOutcome]) -> None:
    rows = []
    for o in outcomes:
        r = o.result
        record = r.publication.record if r is not None and r.publication else None
        status = (
            render.styled("error", "bold red")
            if o.error
            else (render.styled("passed", "green") if o.ok else render.styled("gates failed", "bold red"))
        )
        rows.append(
            (
                o.plan.family,
                status,
                record.model_id if record else "",
                _num(r.metrics.mae) if r else "",
                f"{_num(r.metrics.hit_rate_edge_3plus, 1, '%')} ({r.metrics.n_edge_3plus})" if r else "",
                "yes" if o.enabled else "no",
                str(o.error) if o.error else "; ".join(r.failures()) if r else "",
            )
        )
    render.table(
        f"Retrain summary ({len(outcomes)})",
        ["family", "result", "model_id", "mae", "edge 3+ (n)", "enabled", "why"],
        rows,
    )


def retrain_json(outcomes: list[RetrainOutcome]) -> list[dict[str, Any]]:
    return [
        {
            "family": o.plan.family,
            "command": o.plan.command,
            "passed": o.ok,
            "error": str(o.error) if o.error else None,
            "failures": o.result.failures() if o.result else [],
            "model_id": (
                o.result.publication.record.model_id
                if o.result and o.result.publication and o.result.publication.record
                else None
            ),
            "enabled": o.enabled,
        }
        for o in outcomes
    ]
