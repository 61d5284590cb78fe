"""``modelctl`` imports a command's module only when that command runs, and no parser takes an
abbreviated option (``predict --to`` was silently ``--top``)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.cli.extensions import COMMANDS
from common.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("catboost", "pandas", "numpy", "duckdb", "sqlglot", "pyarrow", "rich", "slack_sdk", "flask",
         "jinja2", "matplotlib", "google.cloud.bigquery", "google.cloud.storage", "google.cloud.pubsub",
         "google.api_core", "requests")  # fmt: skip

PROBE = """
import json, sys
from common.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules)))
"""


def imported_by(*argv: str) -> set[str]:
    """The modules a fresh interpreter holds after ``modelctl ARGV`` (run in-process there)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, cwd=ROOT)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_help_imports_no_heavy_module_and_no_command_module() -> None:
    modules = imported_by("--help")
    assert [m for m in HEAVY if m in modules] == []
    assert [m for m in modules if m.startswith("common.cli.") and m.endswith("_cmds")] == []
    assert "common.settings" not in modules  # settings are read only when a command runs


def test_a_commands_help_imports_its_module_only() -> None:
    modules = imported_by("predict", "--help")
    assert "common.cli.worker_cmds" in modules
    others = {c.module for c in COMMANDS.values()} - {"common.cli.worker_cmds"}
    assert others & modules == set()
    assert "catboost" not in modules  # scoring imports it when it scores


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


def test_the_command_table_lists_every_command_exactly() -> None:
    """A command registered by a module but missing from ``COMMANDS`` would be absent from --help."""
    [subparsers] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(subparsers.choices) == set(COMMANDS)


def test_no_parser_accepts_abbreviated_options() -> None:
    parsers: list[argparse.ArgumentParser] = []

    def walk(parser: argparse.ArgumentParser) -> None:
        parsers.append(parser)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)

    walk(build_parser())
    assert len(parsers) > len(COMMANDS)
    assert [p.prog for p in parsers if p.allow_abbrev] == []


@pytest.mark.parametrize(
    "argv, unknown",
    [
        (["predict", "--date", "2026-01-15", "--t", "3"], "--t"),  # once read as --top (now --to too)
        (["predict", "--fro", "2026-01-15", "--to", "2026-01-20"], "--fro"),
        (["list", "--enab"], "--enab"),  # once read as --enabled
        (["list", "--registry", "duckdb:///x.duckdb"], "--registry"),  # once --registry-url
    ],
)
def test_an_abbreviated_option_is_refused_not_guessed(
    argv: list[str], unknown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert unknown in err and len(err.strip().splitlines()) == 1, err
