"""Rich tables for people, JSON for scripts.

Everything printed here may carry text from outside (a model card's description, an
object name, an error quoting either), so the CLI's output is made safe in one place:
terminal control characters (escape sequences, C1 controls, bidirectional overrides)
are stripped from text, table cells are plain text (never rich markup), and JSON is
strict (no bare ``NaN``/``Infinity``; control characters escaped by the encoder).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from common.registry.model import ModelRecord, strict_dumps
from common.text import clean as clean  # one definition of what is stripped (the dashboard's too)


class _SafeConsole(Console):
    """A console whose printed strings are stripped of terminal control characters."""

    def print(self, *objects: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().print(*(clean(o) if isinstance(o, str) else o for o in objects), **kwargs)


# Pipes and CI logs get a wide page instead of rich's 80-column default.
_WIDTH = None if sys.stdout.isatty() else 180
# No markup by default: printed lines carry outside text (paths, ids, reasons), and a "[/]" in one
# raised MarkupError. A line styled on purpose says so: ``console.print(..., markup=True)``.
console = _SafeConsole(highlight=False, width=_WIDTH, markup=False)
err_console = _SafeConsole(stderr=True, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    sys.stdout.write(strict_dumps(value, indent=2, sort_keys=True) + "\n")


def styled(text: str, style: str) -> Text:
    """A table cell with a style (cells are plain text: markup in data is never interpreted)."""
    return Text(clean(text), style=style)


def _cell(value: Any) -> Text:
    if isinstance(value, Text):
        return value
    return Text("" if value is None else clean(str(value)))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    # a title wider than the columns would be folded to their width: the table grows to hold it
    out = Table(title=_cell(title), title_justify="left", header_style="bold", min_width=len(title))
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*(_cell(v) for v in row))
    console.print(out)


def fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def role(model: ModelRecord) -> Text:
    if model.is_retired:
        return Text("retired")
    if model.is_champion:
        return styled("champion", "bold green")
    return Text("shadow")


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
