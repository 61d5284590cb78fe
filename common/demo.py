"""``make demo``: the model lifecycle on the embedded default, narrated.

No servers and no credentials: a DuckDB registry and a folder bucket under
``.local/``, recreated from scratch on every run. Each step prints the
``modelctl`` command it runs and what came back.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from common.cli.main import main as modelctl
from common.settings import LOCAL_DIR
from common.training.tiny import tiny_card, tiny_model_bytes

console = Console(highlight=False, soft_wrap=True)


def step(title: str) -> None:
    console.print(Rule(f"[bold]{title}"))


def run(*args: str) -> None:
    console.print(f"[cyan]$ modelctl {' '.join(args)}[/]")
    code = modelctl(list(args))
    if code != 0:
        console.print(f"[red]modelctl {args[0]} failed with exit code {code}[/]")
        sys.exit(code)


def expect_refusal(*args: str) -> None:
    console.print(f"[cyan]$ modelctl {' '.join(args)}[/]   [dim](expected to be refused)[/]")
    code = modelctl(list(args))
    console.print(f"[dim]→ exit code {code}[/]")


def main() -> None:
    shutil.rmtree(LOCAL_DIR, ignore_errors=True)
    LOCAL_DIR.mkdir(parents=True)
    step("1. Create the registry (embedded DuckDB under .local/)")
    run("migrate")
    run("feature-sets")

    step("2. Train three small models of different families (seconds) and register them")
    workdir = Path(tempfile.mkdtemp(prefix="demo-models-"))
    cards = {
        "v9_mae.cbm": tiny_card("v9"),
        "v9_q43.cbm": tiny_card("v9", "Quantile", 0.43),
        "v12_noveg_mae.cbm": tiny_card("v12_noveg", train_start=date(2025, 11, 16), train_end=date(2026, 2, 28)),
    }
    for seed, (name, card) in enumerate(cards.items()):
        (workdir / name).write_bytes(tiny_model_bytes(card, seed=seed, iterations=30))
        run("register", str(workdir / name))
    step("3. Registering the same bytes again changes nothing (idempotent)")
    run("register", str(workdir / "v9_mae.cbm"))
    step("4. A corrupt file is rejected with its reason, and nothing is written")
    (workdir / "broken.cbm").write_bytes(b"not a model")
    expect_refusal("register", str(workdir / "broken.cbm"))
    run("rejections")

    step("5. New models are disabled; a human enables, then promotes")
    run("list")
    expect_refusal("promote", "catboost_v9_mae_train1102_0215")
    run("enable", "catboost_v9_mae_train1102_0215", "--reason", "backtest looks good")
    run("promote", "catboost_v9_mae_train1102_0215", "--reason", "first champion")
    run("enable", "catboost_v9_q43_train1102_0215", "--reason", "shadow challenger")
    run("promote", "catboost_v9_q43_train1102_0215", "--reason", "q43 beat the MAE model")
    run("retire", "catboost_v12_noveg_mae_train1116_0228", "--reason", "superseded")
    run("list")
    step("6. The audit trail answers who changed what, when and why")
    run("history")
    run("history", "--at", date.today().isoformat())
    shutil.rmtree(workdir, ignore_errors=True)
    console.print("[bold green]Demo finished.[/] Registry and bucket are in .local/ — try `.venv/bin/modelctl list`.")


if __name__ == "__main__":
    main()
