"""Rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from common.registry.model import ModelRecord

# Pipes and CI logs get a wide page instead of rich's 80-column default.
_WIDTH = None if sys.stdout.isatty() else 180
# No markup by default: printed lines carry outside text (paths, ids, reasons), and a "[/]" in one
# raised MarkupError. A line styled on purpose says so: ``console.print(..., markup=True)``.
console = Console(highlight=False, width=_WIDTH, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline


def print_json(value: Any) -> None:
    """``value`` as JSON; a NaN or infinite float (no JSON number) becomes null."""
    sys.stdout.write(json.dumps(_finite(value), indent=2, default=str, sort_keys=True, allow_nan=False) + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def cell(value: Any) -> Text:
    """A table cell: a ``Text`` as given (deliberate styling, e.g. ``styled(role(m))``); anything
    else is plain text, never rich markup, with control characters shown as ``\\xNN`` escapes,
    so a description, reason or file name cannot style, break or drive the terminal."""
    if isinstance(value, Text):
        return value
    return Text(_CONTROL.sub(lambda m: repr(m[0])[1:-1], "" if value is None else str(value)))


def styled(markup: str) -> Text:
    """A cell written in rich markup by this program (never with outside text in it)."""
    return Text.from_markup(markup)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    out = Table(title=cell(title), title_justify="left", header_style="bold")
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*(cell(v) for v in row))
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
                styled(role(m)),
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
