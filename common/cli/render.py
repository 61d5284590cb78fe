"""Rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from common.registry.model import ModelRecord

# Pipes and CI logs get a wide page instead of rich's 80-column default.
_WIDTH = None if sys.stdout.isatty() else 180
console = Console(highlight=False, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, sort_keys=True) + "\n")


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    out = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row))
    console.print(out)


def fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def role(model: ModelRecord) -> str:
    if model.is_retired:
        return "retired"
    if model.is_champion:
        return "[bold green]champion[/]"
    return "shadow"


def models_table(models: Sequence[ModelRecord], title: str = "Models") -> None:
    table(
        f"{title} ({len(models)})",
        ["model_id", "family", "role", "enabled", "train", "mae", "hr edge3+ (n)", "sha256"],
        [
            (
                m.model_id,
                m.model_family,
                role(m),
                "yes" if m.enabled else "no",
                f"{m.train_start}..{m.train_end}",
                fmt(m.backtest_mae),
                f"{fmt(m.backtest_hit_rate_edge_3plus, 1)} ({m.backtest_n_edge_3plus or 0})",
                (m.sha256 or "")[:12],
            )
            for m in models
        ],
    )


def record_panel(model: ModelRecord) -> None:
    table(model.model_id, ["field", "value"], [(k, v) for k, v in model.to_json_dict().items()])
