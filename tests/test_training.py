"""The training pipeline: ``modelctl data generate``, ``train`` and ``retrain``, end to end.

Commands run in-process through ``modelctl``'s own ``main`` (argument parsing,
error lines and exit codes included) on a registry seeded with one synthetic
season. Models train with 40 iterations: seconds, not minutes.
"""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from common.app import open_registry, registration_service
from common.cli import main as cli_main
from common.cli.main import build_parser
from common.cli.main import main as modelctl
from common.cli.training_cmds import request_from_args
from common.data.store import data_range, load_season, season_fingerprint, write_season
from common.data.synth import SeasonData, generate_season
from common.errors import GateFailed
from common.registry.naming import STAGING_PREFIX
from common.registry.store import RegistryStore
from common.registry.validation import read_facts
from common.settings import Settings
from common.storage import FileBucket
from common.training.gates import GateConfig
from common.training.pipeline import run_training
from common.training.request import TrainRequest
from tests.support.events import post, storage_event
from tests.support.migrated import migrated_store
from tests.support.tiny import tiny_card, tiny_model_bytes
from tests.test_functions import client

FAST = ["--iterations", "40"]
WINDOWS = ["--train-start", "2025-11-01", "--train-end", "2026-01-31", "--eval-start", "2026-02-01"]
EVAL_END = ["--eval-end", "2026-02-21"]
Q43 = ["--feature-set", "v9", "--loss", "quantile", "--quantile-alpha", "0.43"]


@pytest.fixture(autouse=True)
def keep_logging_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """``modelctl``'s main reconfigures the root logger for a process; in-process runs must not."""
    monkeypatch.setattr(cli_main, "setup_logging", lambda *args, **kwargs: None)


@pytest.fixture(scope="module")
def season() -> SeasonData:
    return generate_season("2025-26", seed=7)


@pytest.fixture(scope="module")
def seeded_db(season: SeasonData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated registry holding the season, built once and copied for each test."""
    path = tmp_path_factory.mktemp("seeded") / "registry.duckdb"
    store = migrated_store(f"duckdb://{path}")
    write_season(store.engine, season)
    return path


@pytest.fixture
def settings(seeded_db: Path) -> Settings:
    """The isolated env's registry, migrated and seeded; an empty bucket."""
    settings = Settings.from_env()
    target = Path(settings.registry_url.removeprefix("duckdb://"))
    for suffix in ("", ".wal"):
        if Path(f"{seeded_db}{suffix}").exists():
            shutil.copy(f"{seeded_db}{suffix}", f"{target}{suffix}")
    return settings


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = modelctl(list(args))
    except SystemExit as exc:  # argparse usage errors exit from inside parse_args
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def bucket_files(settings: Settings) -> list[str]:
    root = Path(settings.bucket_url.removeprefix("file://"))
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.cbm")) if root.exists() else []


def nothing_published(settings: Settings) -> bool:
    return bucket_files(settings) == [] and open_registry(settings).list() == []


def register_tiny(settings: Settings, family: str, start: date, end: date, enable: bool = False) -> str:
    """A registered model of ``family`` (tiny, for the registry's configuration only)."""
    fs, _, loss = family.rpartition("_")
    alpha = None if loss == "mae" else int(loss[1:]) / 100
    card = tiny_card(fs, "MAE" if alpha is None else "Quantile", alpha, start, end)
    service = registration_service(settings)
    info = service.bucket.write(f"models/{fs}/{family}/tiny.cbm", tiny_model_bytes(card, seed=3))
    model_id = service.register_object(info.name, info.generation, info.size).record.model_id
    if enable:
        service.registry.enable(model_id)
    return model_id


# -- bad input: one clear error each, nothing uploaded, nothing registered ------------------
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("retrain", "--family", "v13_mae"), 2, "unknown family 'v13_mae'"),
        (("retrain", "--family", "v9_q43"), 3, "no v9_q43 model in the registry"),
        (
            ("train", "--name", "x", "--train-start", "2026-01-31", "--train-end", "2025-11-01"),
            2,
            "train window is empty",
        ),
        (("train", "--name", "x", "--train-start", "2026-02-13", "--train-end", "2026-02-17"), 2, "has no played"),
        (
            ("train", "--name", "x", "--train-start", "2026-05-01", "--train-end", "2026-05-31"),
            2,
            "after the data's last",
        ),
        (
            ("train", "--name", "x", "--train-start", "2025-11-01", "--train-end", "2026-04-12"),
            2,
            "after the data's last",
        ),
        (("train", "--name", "x", *WINDOWS[:4], "--eval-start", "2026-01-15"), 2, "overlaps the train window"),
        (("train", "--name", "x", *WINDOWS, "--loss", "mae", "--quantile-alpha", "0.43"), 2, "contradicts --loss mae"),
        (("train", "--name", "x", *WINDOWS, "--loss", "quantile"), 2, "needs --quantile-alpha"),
        (("train", "--name", "x", *WINDOWS[:3], "2026-02-30"), 2, "is not a date"),
        (("train", "--name", "x", "--feature-set", "v10", *WINDOWS), 2, "invalid choice"),
    ],
)
def test_bad_input_is_one_clear_error_and_publishes_nothing(
    settings: Settings, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], code: int, message: str
) -> None:
    got, _, err = run(capsys, *args, *FAST) if args[0] == "train" else run(capsys, *args)
    assert got == code, err
    assert message in err
    assert err.strip().count("\n") == 0, err
    assert nothing_published(settings)


def test_train_without_season_data_says_how_to_get_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "migrate")[0] == 0
    code, _, err = run(capsys, "train", "--name", "x", *WINDOWS, *FAST)
    assert code == 3 and "modelctl data generate" in err


# -- gates ----------------------------------------------------------------------------------
def test_failed_gate_exits_7_with_reasons_and_publishes_nothing(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    one_day = ["--eval-start", "2026-02-01", "--eval-end", "2026-02-01"]  # far too few edge-3+ bets
    code, out, err = run(capsys, "train", "--name", "tiny eval", *WINDOWS[:4], *one_day, *FAST)
    assert code == 7
    assert "edge-3+ sample" in err and "nothing uploaded or registered" in err
    assert "FAIL" in out and "Governance gates" in out
    assert nothing_published(settings)


def test_gate_config_is_one_place_and_failure_raises(settings: Settings) -> None:
    request = TrainRequest(
        "strict", "v9", "MAE", None, date(2025, 11, 1), date(2026, 1, 31), iterations=40,
        gates=GateConfig(min_prediction_std=100.0),
    )  # fmt: skip
    result = run_training(request, replace(settings, bet_price=-130.0))
    assert not result.passed and result.publication is None
    assert [g.name for g in result.gates if not g.passed] == ["not near-constant"]
    # graded on the opening line, no bet has a price: the gates' break-even is BET_PRICE's (56.5% at -130)
    assert result.metrics.break_even_edge_3plus == pytest.approx(100 * 130 / 230)
    edge_gate = next(g for g in result.gates if g.name == "edge-3+ hit rate")
    assert edge_gate.threshold.startswith(">= 56.5%")
    with pytest.raises(GateFailed, match="not near-constant"):
        result.raise_for_gates()
    assert nothing_published(settings)


def test_mae_gate_compares_with_the_family_champion_on_the_same_window(settings: Settings) -> None:
    first = TrainRequest("first", "v9", "MAE", None, date(2025, 11, 1), date(2025, 12, 31), iterations=40)
    champion = run_training(first, settings).publication.record
    registry = open_registry(settings)
    registry.enable(champion.model_id)
    registry.promote(champion.model_id)
    later = replace(first, name="second", train_end=date(2026, 1, 31), gates=GateConfig(mae_tolerance=-5.0))
    result = run_training(later, settings)
    gate = next(g for g in result.gates if g.name == "MAE vs champion")
    assert not gate.passed and not gate.skipped and champion.model_id in gate.note
    overlapping = run_training(replace(first, name="third", train_end=date(2025, 12, 20)), settings)
    gate = next(g for g in overlapping.gates if g.name == "MAE vs champion")
    assert gate.skipped and "into the eval window" in gate.note


# -- a passing train ------------------------------------------------------------------------
def test_passing_train_uploads_and_registers_disabled(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "train", "--name", "q43 run", *Q43, *WINDOWS, *EVAL_END, *FAST, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["passed"] and shown["outcome"] == "registered"
    model = shown["model"]
    assert model["model_id"] == "catboost_v9_q43_train1101_0131"
    assert model["enabled"] is False and model["status"] == "shadow"
    assert model["description"].startswith("q43 run — v9_q43")
    assert model["source_object"].startswith("models/v9/v9_q43/") and model["source_object"].endswith(".cbm")
    assert bucket_files(settings) == [model["source_object"]]
    # The embedded card is what the registration service validates and the registry holds.
    data = (Path(settings.bucket_url.removeprefix("file://")) / model["source_object"]).read_bytes()
    facts = read_facts(data, model["source_object"])
    assert (facts.family, facts.quantile_alpha, facts.eval_end) == ("v9_q43", 0.43, date(2026, 2, 21))
    card = shown["card"]
    assert card["backtest_n_edge_3plus"] == model["backtest_n_edge_3plus"] == shown["metrics"]["n_edge_3plus"]
    assert card["data_fingerprint"] and card["code_version"].startswith("0.1.0+src.")
    assert {"coverage", "bias", "over_edge_3plus", "under_edge_3plus"} <= set(card["strengths"])
    assert abs(shown["metrics"]["coverage"] - 0.43) < 0.06


def test_same_run_twice_registers_once(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("train", "--name", "again", *WINDOWS, *EVAL_END, *FAST, "--json")
    assert json.loads(run(capsys, *args)[1])["outcome"] == "registered"
    assert json.loads(run(capsys, *args)[1])["outcome"] == "already_registered"
    assert len(bucket_files(settings)) == 1 and len(open_registry(settings).list()) == 1


def test_skip_flags(settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = ("train", "--name", "skip", *WINDOWS, *EVAL_END, *FAST, "--json")
    skipped = json.loads(run(capsys, *base, "--skip-auto-upload", "--output-dir", str(tmp_path / "out"))[1])
    assert skipped["outcome"] == "not_uploaded" and Path(skipped["local_path"]).exists()
    assert nothing_published(settings)
    uploaded = json.loads(run(capsys, *base, "--skip-auto-register")[1])
    assert uploaded["outcome"] == "uploaded" and len(bucket_files(settings)) == 1
    assert open_registry(settings).list() == []
    # staged: neither the finalize trigger nor `watch` registers it (common/registry/naming.py)
    (staged,) = bucket_files(settings)
    assert staged.startswith(STAGING_PREFIX) and uploaded["object"].endswith(staged)
    info = FileBucket(settings.bucket_url).read(staged)[1]
    event = storage_event(info.bucket, info.name, info.generation, info.size)
    assert post(client("register_model"), event).status_code == 200
    assert run(capsys, "watch", "--once")[0] == 0
    assert open_registry(settings).list() == []
    # registering it is a deliberate act
    assert run(capsys, "register", f"file://{FileBucket(settings.bucket_url).path(staged)}")[0] == 0
    assert len(open_registry(settings).list()) == 1


def test_walkforward_prints_one_table_per_fold(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "train", "--name", "wf", *WINDOWS, *EVAL_END, *FAST, "--walkforward", "--skip-auto-upload"
    )
    assert code == 0, err
    assert [out.count(f"Walk-forward fold {k}/3") for k in (1, 2, 3)] == [1, 1, 1]
    assert "Fold 3: train 2025-11-15..2026-02-14" in out and "eval 2026-02-15..2026-02-21" in out


# The seed's Phase 7 command, flag for flag (its dates lie inside the synthetic 2025-26 season);
# only --iterations is added, to train in seconds. An alpha alone implies quantile loss.
PHASE_7 = """--name "V12_Q43_EXPERIMENT" \\
    --feature-set v12 --no-vegas --quantile-alpha 0.43 \\
    --train-start 2025-11-02 --train-end 2026-02-15 --walkforward"""


def test_the_seeds_phase_7_command_runs_as_written(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    argv = shlex.split(PHASE_7.replace("\\\n", " "))
    code, out, err = run(capsys, "train", *argv, *FAST, "--json")
    assert code in (0, 7), err  # 7: a gate failed at 40 iterations, which is still a run
    shown = json.loads(out)
    assert (shown["family"], shown["card"]["feature_set"]) == ("v12_noveg_q43", "v12_noveg")
    assert "--no-vegas --loss quantile --quantile-alpha 0.43" in shown["command"]
    assert [fold["eval"] for fold in shown["folds"]] == [["2026-02-16", "2026-02-22"], ["2026-02-23", "2026-03-01"]]
    assert abs(shown["metrics"]["coverage"] - 0.43) < 0.1


def test_progress_reports_iterations_and_folds(settings: Settings) -> None:
    seen: dict[str, int] = {}

    from contextlib import contextmanager

    @contextmanager
    def record(description: str, total: int):  # type: ignore[no-untyped-def]
        seen[description] = 0

        def advance(n: int = 1) -> None:
            seen[description] += n

        yield advance

    request = TrainRequest(
        "p", "v9", "MAE", None, date(2025, 11, 1), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 14),
        walkforward=True, skip_upload=True, iterations=20,
    )  # fmt: skip
    run_training(request, Settings.from_env(), record)
    assert seen == {"training v9_mae": 20, "walk-forward folds": 2, "fold 1/2": 20, "fold 2/2": 20}


# -- retrain --------------------------------------------------------------------------------
def test_retrain_dry_run_prints_exact_commands_and_changes_nothing(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    register_tiny(settings, "v9_q43", date(2025, 12, 1), date(2026, 1, 31))
    register_tiny(settings, "v12_noveg_mae", date(2025, 11, 2), date(2026, 2, 15), enable=True)
    registry = open_registry(settings)
    before = (registry.list(), registry.events(), bucket_files(settings))
    code, out, err = run(capsys, "retrain", "--all", "--dry-run")
    assert code == 0, err
    commands = [line for line in out.splitlines() if line.startswith("modelctl train")]
    # Eval: the last 21 days of data (to 2026-04-12); train: each latest model's window length before that.
    assert commands == [
        "modelctl train --name 'retrain v12_noveg_mae' --feature-set v12 --no-vegas --loss mae "
        "--train-start 2025-12-07 --train-end 2026-03-22 --eval-start 2026-03-23 --eval-end 2026-04-12 "
        "--use-production-lines",
        "modelctl train --name 'retrain v9_q43' --feature-set v9 --loss quantile --quantile-alpha 0.43 "
        "--train-start 2026-01-20 --train-end 2026-03-22 --eval-start 2026-03-23 --eval-end 2026-04-12 "
        "--use-production-lines",
    ]
    assert (registry.list(), registry.events(), bucket_files(settings)) == before
    # The printed command is exactly what `modelctl train` parses back.
    args = build_parser().parse_args(shlex.split(commands[1])[1:])
    assert request_from_args(args).command() == commands[1]


def test_retrain_family_trains_from_the_registry_config(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    register_tiny(settings, "v9_q43", date(2025, 12, 1), date(2026, 1, 31))
    code, out, err = run(capsys, "retrain", "--family", "v9_q43", "--enable", *FAST, "--json")
    assert code == 0, err
    [outcome] = json.loads(out)
    assert outcome["passed"] and outcome["enabled"]
    record = open_registry(settings).get(outcome["model_id"])
    assert (record.model_family, record.quantile_alpha, record.enabled) == ("v9_q43", 0.43, True)
    assert (record.train_end, record.eval_start, record.eval_end) == (
        date(2026, 3, 22),
        date(2026, 3, 23),
        date(2026, 4, 12),
    )
    assert (record.train_end - record.train_start).days == (date(2026, 1, 31) - date(2025, 12, 1)).days
    assert record.description.startswith("retrain v9_q43")


def test_retrain_with_failed_gates_exits_7_and_enables_nothing(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # A 2-day window and one boosting step of a 10% quantile: far from its quantile. (An MAE model
    # that learned nothing no longer fails reliably: a near-constant prediction bets UNDER on high
    # lines and OVER on low ones, and lines regress toward the mean enough on the synthetic season's
    # last three weeks of nights to clear the edge-3+ floor.)
    register_tiny(settings, "v9_q10", date(2026, 3, 20), date(2026, 3, 21))
    code, out, err = run(capsys, "retrain", "--family", "v9_q10", "--enable", "--iterations", "1")
    assert code == 7 and "v9_q10" in err
    assert "gates failed" in out
    assert [m.enabled for m in open_registry(settings).list()] == [False]


# -- data -----------------------------------------------------------------------------------
def test_data_generate_is_deterministic_for_a_seed(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path, season: SeasonData
) -> None:
    fingerprints = []
    for name in ("a", "b"):
        url = f"duckdb://{tmp_path / name}.duckdb"
        migrated_store(url).close()  # a copy of the migrated template: generating is under test, not migrating
        code, out, err = run(capsys, "--registry-url", url, "data", "generate", "--seed", "3", "--json")
        assert code == 0, err
        fingerprints.append(json.loads(out)["fingerprint"])
    assert fingerprints[0] == fingerprints[1] != season_fingerprint(generate_season("2025-26", seed=4))
    # What the database returns is exactly what the generator made.
    engine = RegistryStore.open(settings.registry_url).engine
    loaded = load_season(engine)
    pd.testing.assert_frame_equal(loaded.player_games, season.player_games)
    assert season_fingerprint(loaded) == season_fingerprint(season)
    span = data_range(engine)
    assert (span.first_date, span.last_date, span.season) == (date(2025, 10, 21), date(2026, 4, 12), "2025-26")


def test_two_runs_of_a_family_in_one_second_never_overwrite_each_other(settings: Settings) -> None:
    """The object name has one-second resolution: the second upload must not replace the first's bytes."""
    from datetime import UTC, datetime

    from common.training.artifacts import publish

    request = TrainRequest("twice", "v9", "MAE", None, date(2025, 11, 2), date(2026, 2, 15))
    registration = registration_service(settings)
    now = datetime(2026, 2, 16, 12, 34, 56, tzinfo=UTC)
    blobs = [tiny_model_bytes(tiny_card("v9"), seed=seed) for seed in (51, 52)]

    records = [publish(request, data, registration, now).record for data in blobs]

    assert len({r.source_object for r in records if r}) == 2
    for record, data in zip(records, blobs, strict=True):
        assert record is not None and registration.bucket.read(record.source_object or "", max_bytes=10**8)[0] == data
