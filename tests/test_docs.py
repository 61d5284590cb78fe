"""The README's and docs/'s commands run as written (issue 23), and the errors a newcomer hit stay fixed.

Convention (docs/development.md, "The docs test"): a ```console block is run, as one ``bash -e``
script per block, in page order, every page in one sandbox (its own registry, bucket and cache;
never the repository's ``.local/``); a line ending in ``# exit N`` must exit N. Every other shell
block is preceded by ``<!-- not run: REASON -->``. The newcomer's errors are then checked through
``modelctl`` on the registry the pages left behind.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

# The pages' commands take about a minute on an idle machine; more under load, hence the longer timeout.
pytestmark = pytest.mark.timeout(900)
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The order of the README's table of pages: later pages use what earlier ones made.
PAGES = (
    "README.md",
    "docs/configuration.md",
    "docs/registry.md",
    "docs/functions.md",
    "docs/serving.md",
    "docs/training.md",
    "docs/grading.md",
    "docs/dashboard.md",
    "docs/bigquery.md",
    "docs/deploy.md",
    "docs/cutover.md",
    "docs/operations.md",
    "docs/development.md",
)
SHELL_LANGUAGES = {"bash", "sh", "shell", "zsh"}
NOT_RUN = re.compile(r"<!--\s*not run:\s*(\S.*?)\s*-->")
EXPECT_EXIT = re.compile(r"^(?P<command>.*?)\s+#\s*exit (?P<code>\d+)\s*$")
# Variables that could point a command anywhere but the sandbox: never passed on.
DROPPED = ("MODEL_", "SLACK_", "EVENT_BUS_URL", "PUBSUB_", "STORAGE_EMULATOR", "GOOGLE_", "CLOUDSDK_", "BQ_")


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    marker: str | None  # the reason of a preceding <!-- not run: … -->

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class Outcome:
    block: Block
    returncode: int
    output: str
    seconds: float


def blocks(page: str) -> list[Block]:
    """Every fenced block of ``page``, with the not-run marker on the line before it, if any."""
    lines = (ROOT / page).read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = re.match(r"^(`{3,})(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith(fence.group(1)))
        before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = NOT_RUN.search(before)
        found.append(Block(page, i + 1, fence.group(2), "\n".join(lines[i + 1 : end]), marker and marker.group(1)))
        i = end + 1
    return found


def script(block: Block) -> str:
    """The block as a bash script: stop at the first failure, except a line that must exit N."""
    out = ["set -eo pipefail"]
    for line in block.text.replace("\\\n", " ").splitlines():
        expected = EXPECT_EXIT.match(line)
        if expected is None:
            out.append(line)
            continue
        command, code = expected.group("command"), expected.group("code")
        out += [
            f"echo '$ {command}'",
            f"set +e; {command}; rc=$?; set -e",
            f'[ "$rc" -eq {code} ] || {{ echo "expected exit {code}, got $rc: {command}" >&2; exit 99; }}',
        ]
    return "\n".join(out) + "\n"


def sandbox_env(sandbox: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED)}
    env.update(
        PATH=f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        PYTHONPATH=str(ROOT),
        MODEL_REGISTRY_URL=f"duckdb://{sandbox / 'registry.duckdb'}",
        MODEL_BUCKET_URL=f"file://{sandbox / 'bucket'}",
        MODEL_CACHE_DIR=str(sandbox / "cache"),
        MODELCTL_ACTOR="docs-test",
        COLUMNS="120",
    )
    return env


@dataclass
class Run:
    sandbox: Path
    env: dict[str, str]
    outcomes: list[Outcome]

    def modelctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "modelctl"), *args], cwd=self.sandbox, env=self.env, capture_output=True, text=True, timeout=120
        )


@pytest.fixture(scope="module")
def pages_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Every page's console blocks, in order, in one sandbox; stops at the first failing block."""
    sandbox = tmp_path_factory.mktemp("docs-sandbox")
    env = sandbox_env(sandbox)
    outcomes: list[Outcome] = []
    for page in PAGES:
        for block in blocks(page):
            if block.language != "console":
                continue
            started = time.monotonic()
            done = subprocess.run(["bash", "-c", script(block)], cwd=sandbox, env=env, capture_output=True,
                                  text=True, timeout=300, stdin=subprocess.DEVNULL)  # fmt: skip
            outcomes.append(Outcome(block, done.returncode, done.stdout + done.stderr, time.monotonic() - started))
            if done.returncode != 0:
                return Run(sandbox, env, outcomes)
    return Run(sandbox, env, outcomes)


# -- the convention ------------------------------------------------------------------------------
def test_every_shell_block_is_run_or_says_why_not() -> None:
    unmarked, unnamed = [], []
    for page in PAGES:
        for block in blocks(page):
            if block.language == "":
                unnamed.append(block.where)
            elif block.language in SHELL_LANGUAGES and not block.marker:
                unmarked.append(block.where)
            elif block.language == "console" and block.marker:
                unmarked.append(f"{block.where} (console, so run, but marked not run)")
    assert not unnamed, f"fenced blocks without a language (console, bash, text, sql): {unnamed}"
    assert not unmarked, f"shell blocks neither ```console nor preceded by <!-- not run: REASON -->: {unmarked}"


def test_every_page_is_in_the_readme_and_run() -> None:
    on_disk = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert on_disk == set(PAGES) - {"README.md"}, "a page under docs/ that PAGES does not list is never run"
    readme = (ROOT / "README.md").read_text()
    assert [p for p in PAGES[1:] if f"]({p})" not in readme] == [], "every page is linked from the README"
    assert len(readme.splitlines()) <= 220, "the README stays about 200 lines: move detail to docs/"


def test_measured_figures_live_only_in_the_bench_readme() -> None:
    """'make test takes 6 min 48 s', 'about a minute', 'about 2 minutes': times go stale where they
    are not re-measured. They live in bench/README.md with their conditions; pages link there."""
    stale = re.compile(r"\d+ ?min \d+ ?s\b|\babout (a|one|two|\d+) minutes?\b|\bminutes? on two\b", re.IGNORECASE)
    found = [
        f"{page}:{n}: {line.strip()}"
        for page in PAGES
        for n, line in enumerate((ROOT / page).read_text().splitlines(), 1)
        if stale.search(line)
    ]
    assert found == []


@pytest.mark.slow
def test_the_commands_run_as_written(pages_run: Run) -> None:
    failed = [o for o in pages_run.outcomes if o.returncode != 0]
    if failed:
        o = failed[0]
        pytest.fail(f"{o.block.where}: exit {o.returncode}\n--- block\n{o.block.text}\n--- output\n{o.output[-4000:]}")
    ran = {o.block.page for o in pages_run.outcomes}
    expected = {p for p in PAGES if any(b.language == "console" for b in blocks(p))}
    assert ran == expected
    timing = ", ".join(f"{o.block.where} {o.seconds:.1f}s" for o in pages_run.outcomes)
    print(f"\n{len(pages_run.outcomes)} blocks in {sum(o.seconds for o in pages_run.outcomes):.1f} s: {timing}")


# -- the errors a newcomer hit -------------------------------------------------------------------
def output_of(run: Run, page: str, command: str) -> str:
    """What the block of ``page`` that runs ``command`` printed."""
    if any(o.returncode for o in run.outcomes):
        pytest.skip("a page failed: test_the_commands_run_as_written says where")
    return next(o.output for o in run.outcomes if o.block.page == page and command in o.block.text)


def test_the_cutover_rehearsal_keeps_to_its_own_registry(pages_run: Run) -> None:
    """The rehearsal once ran on the repository's registry, whose champion made the dry run exit 4."""
    assert "Import plan (dry run: nothing changed)" in output_of(pages_run, "docs/cutover.md", "--dry-run")
    shared = json.loads(pages_run.modelctl("list", "--json").stdout)
    assert "catboost_v9_train1102_0215" not in {m["model_id"] for m in shared}
    assert any(m["status"] == "champion" for m in shared)  # the champion the rehearsal had to ignore
    rehearsal = pages_run.sandbox / "rehearsal"
    own = pages_run.modelctl("--registry-url", f"duckdb://{rehearsal / 'registry.duckdb'}", "list", "--json")
    imported = [(m["model_id"], m["status"]) for m in json.loads(own.stdout)]
    assert imported == [("catboost_v9_train1102_0215", "champion")]


def test_upload_puts_a_model_in_the_bucket_for_its_trigger(pages_run: Run) -> None:
    """The emulator stack's page gave no way to put a .cbm into gs://local-models: `modelctl upload`."""
    watched = output_of(pages_run, "docs/functions.md", "modelctl upload")
    assert re.search(r"models/uploads/catboost_v9_33f_q45_\S+\.cbm: registered:catboost_v9_q45_train1101_0131", watched)
    again = pages_run.modelctl("upload", str(next((pages_run.sandbox / "trained").glob("*.cbm"))))
    assert again.returncode == 4 and "already exists" in again.stderr, again.stderr  # never over an object


def test_remind_shows_the_report_after_the_days_send(pages_run: Run) -> None:
    """After the day's send, `remind` printed only `duplicate: 2 stale of 2`."""
    shown = output_of(pages_run, "docs/functions.md", "modelctl remind")  # --send, then without
    assert shown.count("modelctl retrain --family v9_mae") >= 2 and "Not sent: `modelctl remind --send`" in shown
    again = pages_run.modelctl("remind", "--date", "2026-02-25", "--send")
    assert again.returncode == 0, again.stderr
    assert "modelctl retrain --family v9_mae" in again.stdout and "reminder: duplicate" in again.stdout


def test_verbose_goes_after_the_command_too(pages_run: Run) -> None:
    """`modelctl remind -v` was refused: -v worked only before the command word."""
    output_of(pages_run, "README.md", "modelctl remind")
    out = pages_run.modelctl("remind", "-v", "--date", "2026-02-26", "--send")
    assert out.returncode == 0, out.stderr
    assert '"severity": "INFO"' in out.stderr and "Retrain reminder 2026-02-26" in out.stderr, out.stderr


def test_predict_on_a_day_without_games_says_so(pages_run: Run) -> None:
    """On the All-Star break `predict` suggested `modelctl data generate`."""
    said = output_of(pages_run, "docs/registry.md", "modelctl predict --date 2026-02-15")
    assert "no games on 2026-02-15: no games are scheduled that day" in said, said
    assert "the nearest game dates are 2026-02-11 and 2026-02-19" in said and "data generate" not in said
    assert "no games on 2026-08-01: it is outside the season data (games from 2025-10-21 to 2026-04-12)" in said


def test_history_game_date_names_who_served_the_games(pages_run: Run) -> None:
    """`--at` answers by the audit trail's wall clock; `--game-date` by whose predictions the games got."""
    said = " ".join(output_of(pages_run, "docs/registry.md", "history --game-date").split())
    first, second = "catboost_v9_mae_train1101_0131", "catboost_v9_q45_train1101_0131"
    assert f"Champion for the games of 2026-02-20: {first}" in said and "Champion at end of 2026-02-20: none" in said
    promoted = pages_run.modelctl("promote", second, "--force", "--reason", "docs test: a second champion")
    assert promoted.returncode == 0, promoted.stderr
    assert pages_run.modelctl("predict", "--date", "2026-03-02").returncode == 0

    def champion(*argv: str) -> object:
        out = pages_run.modelctl("history", *argv, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["champion"]

    assert champion("--game-date", "2026-03-02") == second
    assert champion("--game-date", "2026-02-20") == first  # predicted before the promotion: it keeps its champion
    assert champion("--at", datetime.now(UTC).date().isoformat()) == second
