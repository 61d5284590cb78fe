"""``make demo``: the whole model lifecycle on the embedded default, narrated.

No servers and no credentials: a DuckDB registry and a folder bucket under
``.local/demo/`` (:mod:`infra.demo.sandbox`), recreated on every run, whatever the
environment says. Each step prints the ``modelctl`` command it runs (in-process,
the same code as the CLI) and what came back:

season data → train a champion (gates, upload, registration) → train a challenger
and drop its .cbm into the bucket → `watch` registers it → enable, promote →
hot reload of a running worker → champion + shadow predictions → grading →
compare → promotion → the staleness reminder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from common.cli.main import main as modelctl
from common.settings import Settings
from infra.demo.sandbox import DEMO_DIR, Sandbox

console = Console(highlight=False, soft_wrap=True)
TRAIN = ["--train-start", "2025-10-21", "--train-end", "2026-01-31", "--eval-start", "2026-02-01",
         "--eval-end", "2026-02-21", "--use-production-lines"]  # fmt: skip
GRADE_FIRST, GRADE_LAST = date(2026, 2, 22), date(2026, 3, 7)


def step(title: str) -> None:
    # a rule's title is cut at the page width: the heading goes on its own line, wrapped, never cut
    console.print(Rule(style="dim"))
    console.print(f"[bold]{title}[/]")


def run(*args: str) -> None:
    console.print(f"[cyan]$ modelctl {' '.join(args)}[/]")
    code = modelctl(list(args))
    if code != 0:
        console.print(f"[red]modelctl {args[0]} failed with exit code {code}[/]")
        sys.exit(code)


def expect_refusal(*args: str) -> None:
    console.print(f"[cyan]$ modelctl {' '.join(args)}[/]   [dim](expected to be refused)[/]")
    console.print(f"[dim]→ exit code {modelctl(list(args))}[/]")


def models() -> dict[str, str]:
    from common.app import open_registry

    return {m.model_family: m.model_id for m in open_registry(Settings.from_env()).list()}


def data_and_training(sandbox: Sandbox) -> tuple[str, str, str]:
    step("1. Registry and a synthetic NBA season (embedded DuckDB under .local/demo/)")
    run("migrate")
    run("data", "generate", "--season", "2025-26", "--seed", "7")
    step("2. Train the future champion (V12 without betting lines): gates, upload, registration (disabled)")
    run("train", "--name", "demo-champion", "--feature-set", "v12", "--no-vegas", *TRAIN, "--iterations", "150")
    console.print("[dim]and its twin that reads the betting lines (V12 with lines: the line as of the lead time)[/]")
    run("train", "--name", "demo-v12-lines", "--feature-set", "v12", *TRAIN, "--iterations", "150")
    step("3. Train a challenger (V9, which sees the lines) without uploading; drop its .cbm into the bucket")
    out = sandbox.root / "train-out"
    # 300 iterations: graded at the lines as of the lead time, 150 leave V9 short of the edge-3+ gate
    run("train", "--name", "demo-challenger", "--feature-set", "v9", *TRAIN, "--iterations", "300",
        "--skip-auto-upload", "--output-dir", str(out))  # fmt: skip
    dropped = sandbox.bucket_dir / "models" / "incoming"
    dropped.mkdir(parents=True, exist_ok=True)
    for cbm in out.glob("*.cbm"):
        shutil.copy(cbm, dropped / cbm.name)
        console.print(f"[dim]copied {cbm.name} into {dropped}[/]")
    console.print("[dim]`modelctl watch` plays Eventarc: each new file becomes a finalize event[/]")
    run("watch", "--once")
    run("list")
    ids = models()
    return ids["v12_noveg_mae"], ids["v9_mae"], ids["v12_mae"]


def lifecycle(champion: str, challenger: str, lined: str) -> None:
    from common.worker.worker import Worker

    step("4. A human enables and promotes; a running worker hot-reloads")
    expect_refusal("promote", champion)
    run("enable", champion, "--reason", "gates passed, backtest looks good")
    run("promote", champion, "--reason", "first champion")
    worker = Worker(Settings.from_env(), worker_id="demo-worker")
    worker.reload()
    worker.start_polling(0.05)
    console.print(f"[dim]worker serving generation {worker.current.generation}: "
                  f"{[m.model_id for m in worker.current.models]}[/]")  # fmt: skip
    started = time.monotonic()
    run("enable", challenger, "--reason", "shadow challenger")
    while challenger not in {m.model_id for m in worker.current.models} and time.monotonic() - started < 5:
        time.sleep(0.01)
    worker.stop()
    console.print(
        f"[green]worker reloaded without restart in {time.monotonic() - started:.2f}s[/]: now serving "
        f"{[m.model_id for m in worker.current.models]} (generation {worker.current.generation})"
    )
    run("enable", lined, "--reason", "shadow: V12 with the lines, beside the champion's V12 without")
    run("workers")
    step(
        "5. Champion and shadow predict every game as of PREDICT_LEAD_MINUTES (180) before its first tip-off, "
        "with the line and prices posted then; only the champion's picks reach users"
    )
    run("predict", "--date", GRADE_FIRST.isoformat(), "--top", "5")
    from common.alerts.picks import latest_alert

    alert = latest_alert(Settings.from_env())
    if alert is not None:  # Slack is not configured in the demo: the alert went to the log
        console.print("[bold]The champion's picks alert (logged, as Slack is not configured):[/]")
        console.print(alert.message()[0], markup=False, highlight=False)


def grading(challenger: str, champion: str, lined: str) -> None:
    from common.cli.grading_cmds import date_range
    from infra.demo.grading import predict_range, verdict

    step(f"6. Games of {GRADE_FIRST}..{GRADE_LAST}: predicted nightly, then final; the box-score producer publishes")
    settings = Settings.from_env()
    predict_range(settings, date_range(GRADE_FIRST, GRADE_LAST))
    console.print("[dim]the in-process bus routes graded-games to update_performance, as Pub/Sub does in production[/]")
    run("publish", "graded-games", "--date", GRADE_FIRST.isoformat(), "--to", GRADE_LAST.isoformat())
    from common.app import open_registry

    family = open_registry(settings).get(challenger).model_family
    console.print(f"[dim]the team bets the {family} family: it is judged on CLV (no-vig), MAE and ROI only guard[/]")
    run("objective", "set", family, "clv", "--reason", "we bet this family: judge it on the closing line")
    run("objective")
    console.print("[dim]the champion's V12 without the lines against its twin with them, both bet at the lead time[/]")
    run("compare", lined, "--vs", champion)
    run("compare", challenger)
    comparison = verdict(settings, challenger)
    step("7. Promotion")
    if comparison.verdict == "promote":
        run("promote", challenger, "--reason", "compare: promote")
    else:
        expect_refusal("promote", challenger)
        run("promote", challenger, "--force", "--reason", f"demo: promoting despite verdict {comparison.verdict!r}")
    run("performance", "--days", "30")  # units, ROI and CLV at the prices bet, with 95% intervals
    run("history", "--at", date.today().isoformat())


def staleness() -> None:
    step("8. The nightly retrain reminder (Slack not configured here, so it is logged)")
    run("remind", "--send", "--date", (GRADE_LAST + timedelta(days=14)).isoformat())
    run("retrain", "--all", "--dry-run")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m infra.demo", description="the whole lifecycle, narrated", allow_abbrev=False
    )
    parser.add_argument("--dir", type=Path, default=DEMO_DIR, help=f"the sandbox folder (default {DEMO_DIR})")
    sandbox = Sandbox(parser.parse_args(argv).dir.resolve())
    for line in sandbox.describe(dict(os.environ)):
        console.print(f"[bold]{line}[/]")
    sandbox.enter()
    started = time.monotonic()
    champion, challenger, lined = data_and_training(sandbox)
    lifecycle(champion, challenger, lined)
    grading(challenger, champion, lined)
    staleness()
    run("history")
    console.print(f"[bold green]Demo finished in {time.monotonic() - started:.0f}s.[/] "
                  f"Registry and bucket are in {sandbox.root} — try "
                  f"`.venv/bin/modelctl --registry-url {sandbox.registry_url} list`, or look at it in a "
                  f"browser: `.venv/bin/modelctl --registry-url {sandbox.registry_url} --bucket-url "
                  f"file://{sandbox.bucket_dir} dashboard`.")  # fmt: skip


if __name__ == "__main__":
    main()
