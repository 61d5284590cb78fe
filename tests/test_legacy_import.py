"""Cutover from the legacy system: real legacy files register, and MONTHLY_MODELS imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.cli import main as cli_main
from common.cli.main import main as modelctl
from common.errors import InvalidModel
from common.feature_sets import V9_FEATURES, get_feature_set, positional_names
from common.registry.registration import RegistrationService
from tests.conftest import LEGACY_NAME
from tests.support.migrated import migrated_store
from tests.support.tiny import tiny_card, tiny_model_bytes


# -- V9 is positional: CatBoost's default names are valid --------------------------------
def test_unnamed_v9_file_with_a_legacy_name_registers(duck_registration: RegistrationService, tmp_path: Path) -> None:
    data = tiny_model_bytes(None, seed=11, unnamed=True)
    path = tmp_path / LEGACY_NAME
    path.write_bytes(data)

    result = duck_registration.register_file(path)

    assert result.outcome == "registered"
    assert (result.record.model_id, result.record.feature_set) == ("catboost_v9_train1102_0215", "v9")


def test_unnamed_v9_file_with_a_card_registers(duck_registration: RegistrationService, tmp_path: Path) -> None:
    path = tmp_path / "numpy_trained.cbm"
    path.write_bytes(tiny_model_bytes(tiny_card("v9"), seed=12, unnamed=True))

    assert duck_registration.register_file(path).record.model_family == "v9_mae"


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (list(positional_names(30)), "model has 30 features but feature set v9 has 33"),
        (list(positional_names(34)), "model has 34 features but feature set v9 has 33"),
        ([*positional_names(32), "line_vs_season_avg"], "feature 0 is '0' but feature set v9 (positional)"),
        ([*V9_FEATURES[:32], "32"], "feature 32 is '32' but feature set v9 (positional) expects"),
    ],
)
def test_wrong_positional_names_are_still_rejected(
    duck_registration: RegistrationService, tmp_path: Path, names: list[str], message: str
) -> None:
    path = tmp_path / "bad_v9.cbm"
    path.write_bytes(tiny_model_bytes(tiny_card("v9"), seed=13, feature_names=names))

    with pytest.raises(InvalidModel, match=message.replace("(", r"\(").replace(")", r"\)")):
        duck_registration.register_file(path)
    assert duck_registration.registry.list() == []


def test_default_names_do_not_pass_for_a_by_name_set() -> None:
    v12 = get_feature_set("v12")
    with pytest.raises(InvalidModel, match="feature names differ from feature set v12"):
        v12.check_model_names(positional_names(len(v12)))


# -- modelctl import-legacy ----------------------------------------------------------------
FIRST = "catboost_v9_33f_train20251102-20260215_20260216_123456.cbm"
SECOND = "catboost_v9_33f_train20251201-20260301_20260302_090000.cbm"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """``modelctl`` in-process on the isolated registry: (exit code, stdout, stderr)."""
    monkeypatch.setattr(cli_main, "setup_logging", lambda *args, **kwargs: None)

    def run(*args: str) -> tuple[int, str, str]:
        code = modelctl(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    migrated_store(os.environ["MODEL_REGISTRY_URL"]).close()  # a copy of the migrated template
    return run


@pytest.fixture
def legacy_export(tmp_path: Path) -> Path:
    """Two numpy-trained V9 files under legacy names, and the dict that lists them."""
    folder = tmp_path / "legacy"
    folder.mkdir()
    (folder / FIRST).write_bytes(tiny_model_bytes(None, seed=21, unnamed=True))
    (folder / SECOND).write_bytes(tiny_model_bytes(None, seed=22, unnamed=True))
    monthly = {
        "catboost_v9_train1102_0215": {
            "model_path": f"legacy/{FIRST}",  # relative to the JSON file
            "train_start": "2025-11-02",
            "train_end": "2026-02-15",
            "backtest_mae": 4.5,
            "backtest_hit_rate_all": 60.0,
            "backtest_hit_rate_edge_3plus": 70.0,
            "backtest_n_edge_3plus": 100,
            "enabled": True,
            "description": "MY_EXPERIMENT — extended training data",
        },
        "catboost_v9_train1201_0301": {
            "model_path": f"file://{folder / SECOND}",
            "train_start": "2025-12-01",
            "train_end": "2026-03-01",
            "backtest_mae": 4.4,
            "enabled": False,  # the seed's step 4: disabled here, it is the champion via CATBOOST_V9_MODEL_PATH
            "description": "the champion's old challenger entry",
        },
    }
    path = tmp_path / "MONTHLY_MODELS.json"
    path.write_text(json.dumps(monthly, ensure_ascii=False))
    return path


def test_import_legacy_registers_enables_and_crowns_then_changes_nothing(cli, legacy_export: Path) -> None:  # type: ignore[no-untyped-def]
    champion = str(legacy_export.parent / "legacy" / SECOND)
    args = ("import-legacy", str(legacy_export), "--champion", champion)

    code, out, err = cli(*args, "--dry-run")
    assert code == 0, err
    assert "catboost_v9_train1102_0215" in out and "promote" in out and "dry run" in out
    assert json.loads(cli("list", "--json")[1]) == []

    code, out, err = cli(*args, "--json")
    assert code == 0, err
    changes = [(c["model_id"], c["action"]) for c in json.loads(out)["changes"]]
    assert changes == [
        ("catboost_v9_train1102_0215", "register"),
        ("catboost_v9_train1102_0215", "enable"),
        ("catboost_v9_train1201_0301", "register"),
        ("catboost_v9_train1201_0301", "enable"),
        ("catboost_v9_train1201_0301", "promote"),
    ]
    models = {m["model_id"]: m for m in json.loads(cli("list", "--json")[1])}
    assert sorted(models) == ["catboost_v9_train1102_0215", "catboost_v9_train1201_0301"]
    first, second = models["catboost_v9_train1102_0215"], models["catboost_v9_train1201_0301"]
    assert (first["status"], first["enabled"], second["status"], second["enabled"]) == (
        "shadow",
        True,
        "champion",
        True,
    )
    assert (first["backtest_mae"], first["backtest_n_edge_3plus"], first["model_family"]) == (4.5, 100, "v9_mae")
    assert first["description"] == "MY_EXPERIMENT — extended training data"
    history = json.loads(cli("history", "--json")[1])
    assert len(history) == 5 and {e["reason"] for e in history} == {"imported from MONTHLY_MODELS"}

    code, out, err = cli(*args, "--json")
    assert (code, json.loads(out)["changes"]) == (0, []), err
    assert json.loads(cli("history", "--json")[1]) == history
    assert "Nothing to change" in cli(*args)[1]
    assert len(json.loads(cli("list", "--json")[1])) == 2


def test_import_legacy_reports_a_bad_file_and_imports_nothing(cli, legacy_export: Path) -> None:  # type: ignore[no-untyped-def]
    monthly = json.loads(legacy_export.read_text())
    monthly["catboost_v9_train1102_0215"]["model_path"] = "legacy/missing.cbm"
    legacy_export.write_text(json.dumps(monthly))

    code, _, err = cli("import-legacy", str(legacy_export))

    assert code == 3 and "missing.cbm" in err
    assert json.loads(cli("list", "--json")[1]) == []


def test_import_legacy_names_an_invalid_file_and_imports_nothing(cli, legacy_export: Path) -> None:  # type: ignore[no-untyped-def]
    second = legacy_export.parent / "legacy" / SECOND
    second.write_bytes(tiny_model_bytes(None, seed=23, feature_names=list(positional_names(30))))

    code, _, err = cli("import-legacy", str(legacy_export))

    assert code == 2, err
    assert "catboost_v9_train1201_0301" in err and "file name says 33 features but the model has 30" in err
    assert json.loads(cli("list", "--json")[1]) == []


def test_import_legacy_never_revives_a_retired_model(cli, legacy_export: Path) -> None:  # type: ignore[no-untyped-def]
    args = ("import-legacy", str(legacy_export), "--champion", str(legacy_export.parent / "legacy" / SECOND))
    assert cli(*args)[0] == 0
    assert cli("retire", "catboost_v9_train1102_0215", "--reason", "underperformed the champion")[0] == 0

    code, out, err = cli(*args, "--dry-run")
    assert code == 0 and "Nothing to change" in out, err
    code, out, err = cli(*args, "--json")

    assert (code, json.loads(out)["changes"]) == (0, []), err
    models = {m["model_id"]: m["status"] for m in json.loads(cli("list", "--json")[1])}
    assert models == {"catboost_v9_train1102_0215": "retired", "catboost_v9_train1201_0301": "champion"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("backtest_mae", float("nan"), "backtest_mae 'nan' is not a finite number"),
        ("backtest_hit_rate_all", float("inf"), "backtest_hit_rate_all 'inf' is not a finite number"),
        ("backtest_n_edge_3plus", float("inf"), "backtest_n_edge_3plus 'inf' is not a finite number"),
        ("description", {"a": [1]}, "description must be a string or a number"),
        ("train_end", ["2026-02-15"], "train_end must be a string or a number"),
        ("description", "ok\x1b[31m red\x00", "description contains control characters"),
    ],
)
def test_import_legacy_refuses_hostile_values_and_imports_nothing(  # type: ignore[no-untyped-def]
    cli, legacy_export: Path, field: str, value: object, message: str
) -> None:
    monthly = json.loads(legacy_export.read_text())
    monthly["catboost_v9_train1102_0215"][field] = value
    legacy_export.write_text(json.dumps(monthly))  # NaN / Infinity: what json.dumps writes for them

    code, out, err = cli("import-legacy", str(legacy_export))

    assert code == 2 and message in err and "catboost_v9_train1102_0215" in err, (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert json.loads(cli("list", "--json")[1]) == []


def test_import_legacy_names_a_folder_given_as_model_path(cli, legacy_export: Path) -> None:  # type: ignore[no-untyped-def]
    monthly = json.loads(legacy_export.read_text())
    monthly["catboost_v9_train1102_0215"]["model_path"] = "legacy"  # the folder, not a file in it
    legacy_export.write_text(json.dumps(monthly))

    code, _, err = cli("import-legacy", str(legacy_export))

    assert code == 3 and "legacy" in err and "not a file" in err, err
    assert len(err.strip().splitlines()) == 1
    assert json.loads(cli("list", "--json")[1]) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"catboost_v9_train1102_0215": {"model_path": "' + "x" * 11_000_000 + '"}}', "larger than"),
    ],
)
def test_import_legacy_refuses_a_hostile_json_in_one_line(cli, tmp_path: Path, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "MONTHLY_MODELS.json"
    path.write_text(text)

    code, _, err = cli("import-legacy", str(path))

    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err[:500]
    assert json.loads(cli("list", "--json")[1]) == []


def test_import_legacy_refuses_a_binary_file_in_one_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "MONTHLY_MODELS.json"
    path.write_bytes(b'{"a": "\xff\xfe"}')

    code, _, err = cli("import-legacy", str(path))

    assert code == 2 and "is not UTF-8 text" in err and len(err.strip().splitlines()) == 1, err


def test_import_legacy_refuses_one_file_under_two_ids(cli, legacy_export: Path) -> None:  # type: ignore[no-untyped-def]
    monthly = json.loads(legacy_export.read_text())
    monthly["catboost_v9_alias"] = {**monthly["catboost_v9_train1102_0215"], "enabled": False}
    legacy_export.write_text(json.dumps(monthly))

    for extra in (("--dry-run",), ()):  # the plan must not promise an id the import cannot keep
        code, _, err = cli("import-legacy", str(legacy_export), *extra)
        assert code == 4 and "catboost_v9_alias" in err and "catboost_v9_train1102_0215" in err, err
    assert json.loads(cli("list", "--json")[1]) == []


def test_hostile_text_is_shown_as_text_by_every_table(cli, legacy_export: Path) -> None:  # type: ignore[no-untyped-def]
    """rich markup in a description or reason is text (``[/]`` used to crash ``show``), and a
    control character is stripped (README "Failure behaviour"), never reaches the terminal raw."""
    monthly = json.loads(legacy_export.read_text())
    monthly["catboost_v9_train1102_0215"]["description"] = "[/] [bold red]pwned"
    legacy_export.write_text(json.dumps(monthly))
    assert cli("import-legacy", str(legacy_export))[0] == 0
    assert cli("retire", "catboost_v9_train1201_0301", "--reason", "[/]\x1b]0;title\x07\x1b[2J")[0] == 0

    code, out, err = cli("show", "catboost_v9_train1102_0215")
    assert code == 0 and "[/] [bold red]pwned" in out, err
    code, out, err = cli("history")
    assert code == 0 and "\x1b" not in out and "\x07" not in out and "[/]]0;title[2J" in out, err


def test_import_legacy_says_a_file_is_too_big_not_empty(  # type: ignore[no-untyped-def]
    cli, legacy_export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_MODEL_BYTES", "1000")

    code, _, err = cli("import-legacy", str(legacy_export), "--dry-run")

    assert code == 2 and "over the 1,000-byte limit (MAX_MODEL_BYTES)" in err and "empty" not in err, err


def test_import_legacy_run_again_never_demotes_a_champion_promoted_since(cli, legacy_export: Path) -> None:  # type: ignore[no-untyped-def]
    args = ("import-legacy", str(legacy_export), "--champion", str(legacy_export.parent / "legacy" / SECOND))
    assert cli(*args)[0] == 0
    assert cli("promote", "catboost_v9_train1102_0215", "--force", "--reason", "better since cutover")[0] == 0
    history = json.loads(cli("history", "--json")[1])

    for extra in ("--dry-run", "--json"):
        code, out, err = cli(*args, extra)
        assert code == 4 and "catboost_v9_train1102_0215" in err and "--force" in err, (code, out, err)
    models = {m["model_id"]: m["status"] for m in json.loads(cli("list", "--json")[1])}
    assert models == {"catboost_v9_train1102_0215": "champion", "catboost_v9_train1201_0301": "shadow"}
    assert json.loads(cli("history", "--json")[1]) == history

    code, out, err = cli(*args, "--force", "--json")
    assert (code, [c["action"] for c in json.loads(out)["changes"]]) == (0, ["promote"]), err
    last = json.loads(cli("history", "--json")[1])[-1]
    assert (last["model_id"], last["action"]) == ("catboost_v9_train1201_0301", "promoted")
    assert last["reason"].startswith("forced past compare") and "imported from MONTHLY_MODELS" in last["reason"]


def test_a_champion_promoted_between_plan_and_apply_is_not_demoted(cli, legacy_export: Path) -> None:  # type: ignore[no-untyped-def]
    from common.app import registration_service
    from common.errors import Conflict
    from common.registry.legacy_import import apply_import, parse_monthly_models, plan_import
    from common.settings import Settings

    assert cli("import-legacy", str(legacy_export))[0] == 0  # no champion: the dict's models only
    service = registration_service(Settings.from_env())
    models = parse_monthly_models(legacy_export.read_text(), legacy_export.parent)
    plan = plan_import(service, models, f"file://{legacy_export.parent / 'legacy' / SECOND}")  # no champion yet
    assert cli("promote", "catboost_v9_train1102_0215", "--reason", "first champion")[0] == 0  # meanwhile

    with pytest.raises(Conflict, match="--force"):
        apply_import(service, plan)
    assert service.registry.champion().model_id == "catboost_v9_train1102_0215"  # type: ignore[union-attr]


def test_import_legacy_refuses_a_key_listed_twice(cli, legacy_export: Path) -> None:  # type: ignore[no-untyped-def]
    """JSON parsers keep the last of two equal keys silently: the first entry would vanish unseen."""
    text = legacy_export.read_text()
    first = json.dumps({"catboost_v9_train1102_0215": json.loads(text)["catboost_v9_train1102_0215"]})[1:-1]
    legacy_export.write_text(text[:-1] + ", " + first + "}")  # the same key again, last
    for extra in (("--dry-run",), ()):
        code, _, err = cli("import-legacy", str(legacy_export), *extra)
        assert code == 2 and "lists the key 'catboost_v9_train1102_0215' twice" in err, err
    assert json.loads(cli("list", "--json")[1]) == []


def test_import_legacy_memory_does_not_grow_with_the_entries(legacy_export: Path, tmp_path: Path) -> None:
    """5,000 entries naming one 4 MB file (20 GB if every file were held before the duplicate
    check): refused at the second entry, the process's peak memory that of one file."""
    big = legacy_export.parent / "legacy" / "big.cbm"
    big.write_bytes(tiny_model_bytes(None, seed=23, unnamed=True) + b"\0" * 4_000_000)  # CatBoost ignores the tail
    spec = {"model_path": str(big), "train_start": "2025-11-02", "train_end": "2026-02-15"}
    entries = {f"catboost_v9_entry{i:04d}": spec for i in range(5000)}
    legacy_export.write_text(json.dumps(entries))
    modelctl_bin = Path(sys.executable).with_name("modelctl")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    assert subprocess.run([str(modelctl_bin), "migrate"], env=env, capture_output=True).returncode == 0
    process = subprocess.Popen(
        [str(modelctl_bin), "import-legacy", str(legacy_export)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    err = process.stderr.read().decode() if process.stderr else ""
    assert os.waitstatus_to_exitcode(status) == 4, err
    assert "catboost_v9_entry0000 and catboost_v9_entry0001" in err and "keep one entry" in err, err
    assert usage.ru_maxrss < 800 * 1024, f"peak {usage.ru_maxrss // 1024} MB"  # KiB on Linux
