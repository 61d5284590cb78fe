"""``modelctl`` as a user runs it: a real process, exit codes, one-line errors, JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.cli.main import main
from common.feature_sets import FEATURE_SETS
from tests.support.migrated import migrated_store
from tests.support.tiny import tiny_card, tiny_model_bytes

MODELCTL = Path(sys.executable).with_name("modelctl")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MODELCTL), *args], capture_output=True, text=True, timeout=120, env=env or dict(os.environ)
    )


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """``modelctl`` in this process (the same ``main`` the console script calls), as ``run`` answers."""
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(["modelctl", *args], code, out.out, out.err)


def test_modelctl_is_installed_in_the_venv() -> None:
    assert MODELCTL.exists(), "modelctl must be on PATH inside .venv (pip install -e .)"


def test_feature_sets_json() -> None:
    out = run("feature-sets", "--json")
    assert out.returncode == 0, out.stderr
    sets = json.loads(out.stdout)
    assert {k: len(v) for k, v in sets.items()} == {"v9": 33, "v12": 57, "v12_noveg": 50}
    assert sets["v9"] == list(FEATURE_SETS["v9"].features)
    assert not set(sets["v12_noveg"]) & {"vegas_points_line", "vegas_opening_line", "implied_team_total"}


def test_unmigrated_registry_says_how_to_fix() -> None:
    out = run("list")
    assert out.returncode == 5
    assert out.stderr.strip().count("\n") == 0
    assert "run `modelctl migrate`" in out.stderr


def test_full_lifecycle_through_the_cli(tmp_path: Path) -> None:
    assert run("migrate").returncode == 0
    assert "up to date" in run("migrate").stdout
    first = tmp_path / "first.cbm"
    first.write_bytes(tiny_model_bytes(tiny_card("v9", "Quantile", 0.43), seed=11))
    second = tmp_path / "second.cbm"
    second.write_bytes(tiny_model_bytes(tiny_card("v12_noveg"), seed=12))
    registered = json.loads(run("register", str(first), "--json").stdout)
    assert registered["outcome"] == "registered"
    a = registered["model"]["model_id"]
    assert a == "catboost_v9_q43_train1102_0215" and registered["model"]["enabled"] is False
    b = json.loads(run("register", str(second), "--enable", "--json").stdout)["model"]
    assert b["enabled"] is True
    assert run("promote", a).returncode == 4  # disabled
    assert run("enable", a).returncode == 0
    assert run("promote", a, "--reason", "wins on edge 3+").returncode == 0
    listed = json.loads(run("list", "--enabled", "--json").stdout)
    assert {(m["model_id"], m["status"]) for m in listed} == {(a, "champion"), (b["model_id"], "shadow")}
    assert json.loads(run("list", "--family", "v9_q43", "--json").stdout)[0]["model_id"] == a
    assert json.loads(run("show", a, "--json").stdout)["quantile_alpha"] == 0.43
    history = json.loads(run("history", a, "--json").stdout)
    assert [e["action"] for e in history] == ["registered", "enabled", "promoted"]
    assert history[-1]["reason"] == "wins on edge 3+"
    today = json.loads(run("history", "--at", "2999-01-01", "--json").stdout)
    assert today["champion"] == a
    out = run("retire", b["model_id"], "--reason", "replaced")
    assert out.returncode == 0 and "retired" in out.stdout
    assert "list" in run("list").stdout.lower() or "Models (2)" in run("list").stdout


def test_a_family_objective_is_declared_with_a_reason_and_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process (``common.cli.main.main``): the objective's rules, not the process, are under test."""
    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()
    model = tmp_path / "m.cbm"
    model.write_bytes(tiny_model_bytes(tiny_card("v9", "Quantile", 0.43), seed=11))
    assert cli(capsys, "register", str(model)).returncode == 0
    assert json.loads(cli(capsys, "objective", "--json").stdout) == [
        {"family": "v9_q43", "objective": "mae", "source": "default"}
    ]
    refused = cli(capsys, "objective", "set", "v9_q43", "clv")
    assert refused.returncode == 2 and "needs a reason (--reason TEXT)" in refused.stderr
    bad = cli(capsys, "objective", "set", "v9_q43", "hit_rate", "--reason", "x")
    assert bad.returncode == 2 and "unknown objective 'hit_rate': choose one of mae, clv, roi" in bad.stderr
    missing = cli(capsys, "objective", "set", "v12_mae", "clv", "--reason", "x")
    assert missing.returncode == 3 and "no model of family 'v12_mae'" in missing.stderr
    out = cli(capsys, "objective", "set", "v9_q43", "clv", "--reason", "we bet this family", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"family": "v9_q43", "objective": "clv", "source": "declared"}]
    assert cli(capsys, "objective", "set", "v9_q43", "clv", "--reason", "again").returncode == 0  # unchanged: no event
    history = json.loads(cli(capsys, "history", "family_v9_q43", "--json").stdout)
    assert [(e["action"], e["reason"], json.loads(e["after_json"])["objective"]) for e in history] == [
        ("objective", "we bet this family", "clv")
    ]
    assert json.loads(history[0]["before_json"])["objective"] == "mae"
    assert "clv" in cli(capsys, "objective", "show", "v9_q43").stdout
    monkeypatch.setenv("COLUMNS", "200")
    shown = cli(capsys, "history", "family_v9_q43").stdout
    assert "mae → clv" in shown and "None/off" not in shown  # the objective's change, not a model's state


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (("show", "catboost_missing"), 3, "no model 'catboost_missing'"),
        (("show", "x'; DROP TABLE model_registry; --"), 2, "invalid model id"),
        (("enable", "catboost_missing"), 3, "no model"),
        (("retire", "catboost_missing"), 2, "--reason"),
        (("list", "--family", "v10_mae"), 2, "unknown family 'v10_mae'"),
        (("history", "--at", "yesterday"), 2, "is not a date"),
        (("register", "/nonexistent/model.cbm"), 3, "cannot read /nonexistent/model.cbm"),
    ],
)
def test_errors_are_one_clear_line(args: tuple[str, ...], code: int, text: str) -> None:
    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()  # `migrate` runs as a process in the lifecycle test
    out = run(*args)
    assert out.returncode == code, out.stderr
    assert text in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_unreachable_registry_names_the_url() -> None:
    env = dict(os.environ, MODEL_REGISTRY_URL="duckdb:///proc/registry-cannot-live-here/r.duckdb")
    out = run("list", env=env)
    assert out.returncode != 0
    assert "duckdb:///proc/registry-cannot-live-here/r.duckdb" in out.stderr
    env = dict(os.environ, MODEL_REGISTRY_URL="postgres://nowhere/db")
    out = run("list", env=env)
    assert out.returncode == 5 and "valid schemes: bigquery://, duckdb://" in out.stderr


def test_json_output_is_always_json(capsys: pytest.CaptureFixture[str]) -> None:
    from common.cli import render

    render.print_json({"mae": float("nan"), "roi": [float("inf"), 0.5], "n": 3})

    assert json.loads(capsys.readouterr().out) == {"mae": None, "roi": [None, 0.5], "n": 3}


def test_outside_text_in_a_printed_line_is_never_rich_markup(tmp_path: Path) -> None:
    """An object named ``[/]…`` made ``watch`` die with MarkupError (a traceback, exit 1)."""
    env = {
        **os.environ,
        "MODEL_REGISTRY_URL": f"duckdb://{tmp_path / 'r.duckdb'}",
        "MODEL_BUCKET_URL": f"file://{tmp_path / 'b'}",
    }
    migrated_store(env["MODEL_REGISTRY_URL"]).close()
    (tmp_path / "b" / "models" / "[").mkdir(parents=True)  # the object models/[/]x.cbm
    (tmp_path / "b" / "models" / "[" / "][bold red]x.cbm").write_bytes(b"not a model")

    out = run("watch", "--once", env=env)

    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert "models/[/][bold red]x.cbm: rejected" in out.stdout, out.stdout
