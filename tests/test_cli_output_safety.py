"""The bad-input catalogue, part 3: what ``modelctl`` prints is safe (issue 11.3).

Text from outside (a card's description, a file name, an error quoting either) never
reaches the terminal as control sequences or rich markup; ``--json`` output is strict
JSON even when the registry holds a non-finite number; operator reasons are bounded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from common.cli.main import main
from common.registry import limits
from tests.support.migrated import migrated_store
from tests.support.tiny import tiny_card, tiny_model_bytes

BAD = 2
MODEL = "catboost_v9_mae_train1102_0215"
HOSTILE = "Clear\x1b[2J\x1b]0;pwned\x07 C1\x9b31m bidi\u202eevil [red]not markup[/] [/] done"
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\u202e")


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"bare {constant} in JSON output")

    return json.loads(text, parse_constant=refuse)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def registered(isolated_env: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A registered model whose (valid) description is full of terminal control sequences."""
    path = isolated_env / "m.cbm"
    path.write_bytes(tiny_model_bytes(tiny_card("v9", description=HOSTILE), seed=81))
    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()  # a copy of the migrated template
    assert main(["register", str(path), "--enable"]) == 0
    capsys.readouterr()
    return str(isolated_env / "registry.duckdb")


@pytest.mark.parametrize("argv", [("show", MODEL), ("list",), ("history", MODEL), ("register", "{file}")])
def test_control_characters_never_reach_the_terminal(
    registered: str, isolated_env: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    args = [a.replace("{file}", str(isolated_env / "m.cbm")) for a in argv]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert not [c for c in FORBIDDEN if c in out + err], repr(out)
    if argv[0] == "show":
        assert "[red]not markup[/] [/] done" in out  # data is shown as text, never as markup


def test_json_output_keeps_the_data_and_escapes_it(registered: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", MODEL, "--json")
    assert code == 0
    assert not [c for c in FORBIDDEN if c in out]
    assert strict_json(out)["description"] == HOSTILE


def test_json_output_is_strict_even_with_a_nan_in_the_registry(
    registered: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A row written before validation existed (or by hand) holds NaN: JSON says null."""
    con = duckdb.connect(registered)
    con.execute("UPDATE model_registry SET backtest_mae = 'NaN'::DOUBLE, backtest_hit_rate_all = 'Infinity'::DOUBLE")
    con.close()
    for argv in (("show", MODEL, "--json"), ("list", "--json")):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        data = strict_json(out)
        row = data if isinstance(data, dict) else data[0]
        assert row["backtest_mae"] is None and row["backtest_hit_rate_all"] is None
    code, out, _ = run(capsys, "list")
    assert code == 0 and MODEL in out


def test_an_error_quoting_a_hostile_path_is_cleaned(isolated_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()
    code, out, err = run(capsys, "register", str(isolated_env / "x\x1b[2J\u202e.cbm"))
    assert code == 3 and "cannot read" in err
    assert not [c for c in FORBIDDEN if c in out + err] and len(err.strip().splitlines()) == 1


TOO_LONG = "r" * (limits.MAX_REASON_CHARS + 1)


@pytest.mark.parametrize(
    "argv",
    [
        ("retire", MODEL, "--reason", TOO_LONG),
        ("disable", MODEL, "--reason", TOO_LONG),
        ("promote", MODEL, "--force", "--reason", TOO_LONG),
    ],
    ids=["retire", "disable", "promote"],
)
def test_reasons_over_the_limit_are_refused(
    registered: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == BAD and "at most 1,000 are allowed" in err, err
    code, out, _ = run(capsys, "history", MODEL, "--json")
    assert [e["action"] for e in strict_json(out)] == ["registered", "enabled"]


def test_a_table_title_is_not_folded_into_a_narrow_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`make demo` printed "Season 2025-26 (seed 7)" / "written to" / "duckdb:///work/wt" … one
    narrow column at a time: a title wider than its table's columns was folded to their width."""
    url = f"duckdb://{tmp_path / 'registry.duckdb'}"
    assert run(capsys, "--registry-url", url, "migrate")[0] == 0

    code, out, err = run(capsys, "--registry-url", url, "data", "generate", "--seed", "3")

    assert code == 0, err
    assert out.splitlines()[0].strip() == f"Season 2025-26 (seed 3) written to {url}", out
