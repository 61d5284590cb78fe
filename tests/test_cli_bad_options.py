"""Every ``modelctl`` command, a bad value for each of its options: the README's exit code,
one line on stderr, no traceback, nothing changed.

The catalogue runs the CLI in-process (``common.cli.main.main``, the code the console
script runs) for speed; ``test_cli.py`` runs the installed ``modelctl`` as a process.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.cli.main import build_parser, main
from tests.support.tiny import tiny_card, tiny_model_bytes

BAD, MISSING, CONFLICT, CONFIG = 2, 3, 4, 5
CHAMPION, SHADOW = "catboost_v9_mae_train1102_0215", "catboost_v12_noveg_mae_train1102_0215"

# (case id, argv, exit code, text stderr must contain). "{file}", "{text_file}", "{root}" are filled in.
CASES: list[tuple[str, tuple[str, ...], int, str]] = [
    ("global registry scheme", ("--registry-url", "foo://x", "list"), CONFIG, "valid schemes: bigquery://, duckdb://"),
    ("global bucket scheme", ("--bucket-url", "s3://x", "register", "{file}"), CONFIG, "MODEL_BUCKET_URL 's3://x'"),
    ("global unknown option", ("--colour", "list"), BAD, "unrecognized arguments: --colour"),
    ("no command", (), BAD, "required: COMMAND"),
    ("migrate extra argument", ("migrate", "now"), BAD, "unrecognized arguments: now"),
    ("feature-sets extra argument", ("feature-sets", "v9"), BAD, "unrecognized arguments: v9"),
    ("register missing file", ("register", "/nonexistent/m.cbm"), MISSING, "cannot read /nonexistent/m.cbm"),
    ("register other bucket", ("register", "gs://other/x.cbm"), BAD, "is not in the models bucket"),
    ("register not a model", ("register", "{text_file}"), BAD, "not a readable CatBoost model"),
    ("register no path", ("register",), BAD, "path_or_url"),
    ("list bad family", ("list", "--family", "v10_mae"), BAD, "unknown family 'v10_mae'"),
    ("objective bad action", ("objective", "drop"), BAD, "invalid choice: 'drop'"),
    ("objective bad family", ("objective", "show", "v10_mae"), BAD, "unknown family 'v10_mae'"),
    ("objective set no objective", ("objective", "set", "v9_mae", "--reason", "x"), BAD, "usage: modelctl objective"),
    ("objective set unknown", ("objective", "set", "v9_mae", "hits", "--reason", "x"), BAD, "unknown objective 'hits'"),
    ("objective set no reason", ("objective", "set", "v9_mae", "clv"), BAD, "needs a reason (--reason TEXT)"),
    (
        "objective set no such family",
        ("objective", "set", "v12_q43", "clv", "--reason", "x"),
        MISSING,
        "no model of family 'v12_q43'",
    ),
    ("show bad id", ("show", "../../etc/passwd"), BAD, "invalid model id"),
    ("show unknown id", ("show", "catboost_missing"), MISSING, "no model 'catboost_missing'"),
    ("enable bad id", ("enable", "x'; DROP TABLE model_registry; --"), BAD, "invalid model id"),
    ("enable unknown id", ("enable", "catboost_missing"), MISSING, "no model 'catboost_missing'"),
    ("disable unknown id", ("disable", "catboost_missing"), MISSING, "no model"),
    ("disable the champion", ("disable", CHAMPION), CONFLICT, "is the champion"),
    ("promote unknown id", ("promote", "catboost_missing"), MISSING, "no model"),
    ("promote bad id", ("promote", "Bad Id"), BAD, "invalid model id"),
    ("retire without reason", ("retire", SHADOW), BAD, "--reason"),
    ("retire blank reason", ("retire", SHADOW, "--reason", "   "), BAD, "retire needs a reason"),
    ("retire the champion", ("retire", CHAMPION, "--reason", "old"), CONFLICT, "is the champion"),
    ("history bad date", ("history", "--at", "2026-02-30"), BAD, "'2026-02-30' is not a date"),
    ("history bad id", ("history", "no/slashes"), BAD, "invalid model id"),
    ("history bad game date", ("history", "--game-date", "2026-02-30"), BAD, "'2026-02-30' is not a date"),
    ("history at and game date", ("history", "--at", "2026-02-20", "--game-date", "2026-02-20"), BAD, "not allowed"),
    ("upload not a model", ("upload", "{text_file}"), BAD, "not a readable CatBoost model"),
    ("upload not named .cbm", ("upload", "{file}", "--name", "m.txt"), BAD, "does not end in .cbm"),
    ("upload missing file", ("upload", "/nonexistent/m.cbm"), BAD, "/nonexistent/m.cbm is not a file"),
    ("upload no path", ("upload",), BAD, "path"),
    ("rejections negative limit", ("rejections", "--limit", "-1"), BAD, "must be at least 1"),
    ("rejections zero limit", ("rejections", "--limit", "0"), BAD, "must be at least 1"),
    ("rejections word limit", ("rejections", "--limit", "ten"), BAD, "'ten' is not a whole number"),
    ("watch negative interval", ("watch", "--once", "--interval", "-1"), BAD, "must be a positive number"),
    ("watch nan interval", ("watch", "--once", "--interval", "nan"), BAD, "must be a positive number"),
    ("watch gcs bucket", ("--bucket-url", "gs://b", "watch", "--once"), BAD, "for the embedded default"),
    ("remind impossible date", ("remind", "--date", "2026-02-30"), BAD, "'2026-02-30' is not a date"),
    ("remind not a date", ("remind", "--date", "notadate"), BAD, "'notadate' is not a date"),
    ("import-legacy missing file", ("import-legacy", "/nonexistent/MONTHLY_MODELS.json"), MISSING, "cannot read"),
    ("import-legacy not json", ("import-legacy", "{text_file}"), BAD, "MONTHLY_MODELS is not valid JSON"),
    ("import-legacy no file", ("import-legacy",), BAD, "MONTHLY_MODELS.json"),
    ("predict without date", ("predict",), BAD, "--date"),
    ("predict bad date", ("predict", "--date", "03/01/2026"), BAD, "is not a date"),
    ("predict negative top", ("predict", "--date", "2026-03-01", "--top", "-5"), BAD, "must be at least 0"),
    ("predict without season", ("predict", "--date", "2026-03-01"), MISSING, "modelctl data generate"),
    (
        "predict date and range",
        ("predict", "--date", "2026-03-01", "--from", "2026-03-01", "--to", "2026-03-02"),
        BAD,
        "give one or the other",
    ),  # fmt: skip
    ("predict from without to", ("predict", "--from", "2026-03-01"), BAD, "--from and --to go together"),
    ("predict to without from", ("predict", "--to", "2026-03-01"), BAD, "--from and --to go together"),
    ("predict bad from", ("predict", "--from", "2026-02-30", "--to", "2026-03-01"), BAD, "'2026-02-30' is not a date"),
    (
        "predict reversed range",
        ("predict", "--from", "2026-03-01", "--to", "2026-02-01"),
        BAD,
        "--to 2026-02-01 is before --from 2026-03-01",
    ),  # fmt: skip
    ("predict huge range", ("predict", "--from", "2025-01-01", "--to", "2026-12-01"), BAD, "at most 400 dates"),
    (
        "predict range with as-of",
        ("predict", "--from", "2026-03-01", "--to", "2026-03-02", "--as-of", "2026-03-01T12:00:00"),
        BAD,
        "--as-of is for one --date",
    ),  # fmt: skip
    (
        "predict range with top",
        ("predict", "--from", "2026-03-01", "--to", "2026-03-02", "--top", "3"),
        BAD,
        "--top shows one date's picks",
    ),  # fmt: skip
    (
        "predict range without season",
        ("predict", "--from", "2026-03-01", "--to", "2026-03-02"),
        MISSING,
        "modelctl data generate",
    ),  # fmt: skip
    (
        "predict unmigrated registry",
        ("--registry-url", "duckdb://{root}/unmigrated.duckdb", "predict", "--date", "2026-03-01"),
        CONFIG,
        "run `modelctl migrate`",
    ),  # fmt: skip
    (
        "workers unmigrated registry",
        ("--registry-url", "duckdb://{root}/unmigrated.duckdb", "workers"),
        CONFIG,
        "run `modelctl migrate`",
    ),  # fmt: skip
    ("workers extra argument", ("workers", "all"), BAD, "unrecognized arguments: all"),
    ("grade bad date", ("grade", "--date", "yesterday"), BAD, "'yesterday' is not a date"),
    ("grade reversed range", ("grade", "--date", "2026-03-01", "--to", "2026-02-01"), BAD, "is before --date"),
    ("grade huge range", ("grade", "--date", "2025-01-01", "--to", "2026-12-01"), BAD, "at most 400 dates"),
    ("publish graded-games without date", ("publish", "graded-games"), BAD, "--date"),
    ("publish graded-games bad date", ("publish", "graded-games", "--date", "2026-02-30"), BAD, "is not a date"),
    (
        "publish graded-games reversed range",
        ("publish", "graded-games", "--date", "2026-03-01", "--to", "2026-02-01"),
        BAD,
        "is before --date",
    ),  # fmt: skip
    (
        "publish graded-games hostile origin",
        ("publish", "graded-games", "--date", "2026-02-20", "--origin", "x\x1b[31m\nforged: line"),
        BAD,
        "graded-games origin",
    ),  # fmt: skip
    (
        "publish graded-games huge origin",
        ("publish", "graded-games", "--date", "2026-02-20", "--origin", "o" * 5000),
        BAD,
        "must be 1-63",
    ),
    ("publish unknown topic", ("publish", "registry-change"), BAD, "invalid choice: 'registry-change'"),
    ("events sample unknown kind", ("events", "sample", "deploy"), BAD, "invalid choice: 'deploy'"),
    (
        "events sample missing object",
        ("events", "sample", "finalize", "--object", "models/no.cbm"),
        MISSING,
        "no object 'models/no.cbm'",
    ),  # fmt: skip
    ("events sample object of a topic", ("events", "sample", "reminder", "--object", "x"), BAD, "finalize sample only"),
    ("compare unknown challenger", ("compare", "catboost_missing"), MISSING, "no model 'catboost_missing'"),
    ("compare unknown champion", ("compare", SHADOW, "--vs", "catboost_missing"), MISSING, "no model"),
    ("compare the champion", ("compare", CHAMPION), BAD, "is the champion"),
    ("compare zero days", ("compare", SHADOW, "--days", "0"), BAD, "must be at least 1"),
    ("compare too many days", ("compare", SHADOW, "--days", "401"), BAD, "at most 400"),
    ("compare bad id", ("compare", "a b"), BAD, "invalid model id"),
    ("performance negative days", ("performance", "--days", "-1"), BAD, "must be at least 1"),
    ("dashboard zero port", ("dashboard", "--port", "0"), BAD, "must be at least 1"),
    ("dashboard port too big", ("dashboard", "--port", "70000"), BAD, "at most 65535"),
    ("data without action", ("data",), BAD, "ACTION"),
    ("data bad season", ("data", "generate", "--season", "1999"), BAD, "season must look like '2025-26'"),
    ("data negative seed", ("data", "generate", "--seed", "-1"), BAD, "must be at least 0"),
    ("data check bad date", ("data", "check", "--date", "2026-13-01"), BAD, "is not a date"),
    ("predict bad as-of", ("predict", "--date", "2026-03-01", "--as-of", "soon"), BAD, "ISO timestamp"),
    (
        "data into production",
        ("--registry-url", "bigquery://p/d", "data", "generate"),
        BAD,
        "--i-know-this-is-production",
    ),  # fmt: skip
    ("train bad date", ("train", "--name", "x", "--train-start", "a", "--train-end", "b"), BAD, "is not a date"),
    (
        "train reversed window",
        ("train", "--name", "x", "--train-start", "2026-01-01", "--train-end", "2025-01-01"),
        BAD,
        "train window is empty",
    ),  # fmt: skip
    (
        "train zero iterations",
        ("train", "--name", "x", "--train-start", "2025-11-01", "--train-end", "2026-01-01", "--iterations", "0"),
        BAD,
        "must be at least 1",
    ),  # fmt: skip
    (
        "train negative learning rate",
        ("train", "--name", "x", "--train-start", "2025-11-01", "--train-end", "2026-01-01", "--learning-rate", "-1"),
        BAD,
        "must be a positive number",
    ),  # fmt: skip
    (
        "train unknown loss",
        ("train", "--name", "x", "--train-start", "2025-11-01", "--train-end", "2026-01-01", "--loss", "rmse"),
        BAD,
        "invalid choice: 'rmse'",
    ),  # fmt: skip
    (
        "train unknown feature set",
        ("train", "--name", "x", "--train-start", "2025-11-01", "--train-end", "2026-01-01", "--feature-set", "v10"),
        BAD,
        "invalid choice: 'v10'",
    ),  # fmt: skip
    (
        "train alpha out of range",
        (
            "train",
            "--name",
            "x",
            "--train-start",
            "2025-11-01",
            "--train-end",
            "2026-01-01",
            "--loss",
            "quantile",
            "--quantile-alpha",
            "1.5",
        ),
        BAD,
        "alpha",
    ),  # fmt: skip
    ("train without name", ("train", "--train-start", "2025-11-01", "--train-end", "2026-01-01"), BAD, "--name"),
    ("retrain nothing chosen", ("retrain",), BAD, "give exactly one of --family F or --all"),
    ("retrain both chosen", ("retrain", "--all", "--family", "v9_mae"), BAD, "give exactly one of --family F or --all"),
    ("retrain unknown family", ("retrain", "--family", "nope"), BAD, "unknown family 'nope'"),
    ("retrain zero iterations", ("retrain", "--all", "--iterations", "0"), BAD, "must be at least 1"),
    (
        "import-legacy missing file",
        ("import-legacy", "/nonexistent/MM.json"),
        MISSING,
        "cannot read /nonexistent/MM.json",
    ),
    ("import-legacy a folder", ("import-legacy", "{root}"), MISSING, "cannot read"),
    ("import-legacy not JSON", ("import-legacy", "{text_file}"), BAD, "MONTHLY_MODELS is not valid JSON"),
    ("import-legacy binary", ("import-legacy", "{file}"), BAD, "is not UTF-8 text"),
    ("import-legacy no file", ("import-legacy",), BAD, "MONTHLY_MODELS.json"),
]


def invoke(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A migrated registry with a champion (v9) and an enabled shadow (v12_noveg), no season data."""
    root = tmp_path_factory.mktemp("cli-bad-options")
    env = {
        "MODEL_REGISTRY_URL": f"duckdb://{root / 'registry.duckdb'}",
        "MODEL_BUCKET_URL": f"file://{root / 'bucket'}",
        "MODEL_CACHE_DIR": str(root / "cache"),
    }
    files = {"file": root / "v9.cbm", "shadow": root / "noveg.cbm", "text_file": root / "notes.cbm"}
    files["file"].write_bytes(tiny_model_bytes(tiny_card("v9"), seed=31))
    files["shadow"].write_bytes(tiny_model_bytes(tiny_card("v12_noveg"), seed=32))
    files["text_file"].write_text("this is not a model\n")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        setup = [
            ["migrate"],
            ["register", str(files["file"]), "--enable"],
            ["register", str(files["shadow"]), "--enable"],
            ["promote", CHAMPION, "--force", "--reason", "first champion"],
        ]
        for argv in setup:
            assert main(argv) == 0, argv
    yield {**env, **{k: str(v) for k, v in files.items()}, "root": str(root)}


def _snapshot(env: dict[str, str]) -> str:
    """Everything a bad command could have changed, as text."""
    bucket = Path(env["MODEL_BUCKET_URL"].removeprefix("file://"))
    objects = sorted(str(p.relative_to(bucket)) for p in bucket.rglob("*") if p.is_file())
    with pytest.MonkeyPatch.context() as mp:
        for key in ("MODEL_REGISTRY_URL", "MODEL_BUCKET_URL"):
            mp.setenv(key, env[key])
        from common.app import open_registry
        from common.settings import Settings

        registry = open_registry(Settings.from_env())
        state = [m.to_json_dict() for m in registry.list()]
        objectives = registry.objectives()
    return json.dumps({"objects": objects, "models": state, "objectives": objectives}, sort_keys=True, default=str)


@pytest.mark.parametrize(("argv", "code", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_option(
    populated: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    code: int,
    text: str,
) -> None:
    for key in ("MODEL_REGISTRY_URL", "MODEL_BUCKET_URL", "MODEL_CACHE_DIR"):
        monkeypatch.setenv(key, populated[key])
    before = _snapshot(populated)
    got, out, err = invoke([a.format(**populated) for a in argv], capsys)
    assert got == code, f"exit {got}, stderr: {err!r}"
    assert text in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err + out
    assert _snapshot(populated) == before


def test_the_catalogue_covers_every_command() -> None:
    """A command added without a bad-input case fails here."""
    commands: set[str] = set()

    def walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    commands.add(" ".join((*prefix, name)))
                    walk(sub, (*prefix, name))

    walk(build_parser(), ())
    covered = set()
    for _, argv, _, _ in CASES:
        words = [a for a in argv if not a.startswith("-")]
        covered.update(" ".join(words[:n]) for n in (1, 2))
    assert commands - covered == set()
