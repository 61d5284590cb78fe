"""Where the registry lives: only ``modelctl migrate`` creates it (issue 11.10).

A ``MODEL_REGISTRY_URL`` naming a folder that does not exist must not conjure up the
folder and an empty database file: every other command, function and service fails
with a configuration error that says what to run, and leaves the disk as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from functions_framework import create_app

from common.app import open_registry
from common.cli.main import main
from common.errors import ConfigError
from common.settings import Settings
from common.storage import FileBucket
from tests.support.events import post, storage_event
from tests.support.tiny import tiny_card, tiny_model_bytes

ROOT = Path(__file__).resolve().parent.parent
CONFIG = 5

# (case id, argv after the global options): commands that read or write the registry.
COMMANDS: list[tuple[str, tuple[str, ...]]] = [
    ("list", ("list",)),
    ("show", ("show", "catboost_v9_mae_train1102_0215")),
    ("history", ("history",)),
    ("history at", ("history", "--at", "2026-03-01")),
    ("rejections", ("rejections",)),
    ("enable", ("enable", "catboost_v9_mae_train1102_0215")),
    ("promote", ("promote", "catboost_v9_mae_train1102_0215", "--force", "--reason", "r")),
    ("retire", ("retire", "catboost_v9_mae_train1102_0215", "--reason", "r")),
    ("register", ("register", "{file}")),
    ("watch once", ("watch", "--once")),
    ("workers", ("workers",)),
    ("performance", ("performance",)),
]


@pytest.fixture
def missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry URL whose folder does not exist, and a bucket holding one valid model."""
    folder = tmp_path / "no-such-folder" / "deeper"
    monkeypatch.setenv("MODEL_REGISTRY_URL", f"duckdb://{folder / 'registry.duckdb'}")
    bucket = FileBucket(f"file://{tmp_path / 'bucket'}")
    bucket.write("models/v9/v9_mae/m.cbm", tiny_model_bytes(tiny_card("v9"), seed=41))
    (tmp_path / "m.cbm").write_bytes(tiny_model_bytes(tiny_card("v9"), seed=42))
    return folder


@pytest.mark.parametrize(("label", "argv"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_command_on_a_missing_registry_creates_nothing(
    missing: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str, argv: tuple[str, ...]
) -> None:
    args = [a.replace("{file}", str(tmp_path / "m.cbm")) for a in argv]
    code = main(args)
    err = capsys.readouterr().err
    assert code == CONFIG, err
    assert "run `modelctl migrate`" in err and len(err.strip().splitlines()) == 1, err
    assert not missing.parent.exists(), "the registry folder was created"


def test_services_refuse_a_missing_registry(missing: Path) -> None:
    with pytest.raises(ConfigError, match=r"no registry at .*run `modelctl migrate` to create it"):
        open_registry(Settings.from_env())
    assert not missing.parent.exists()


def test_the_finalize_function_waits_for_a_registry_and_creates_none(missing: Path) -> None:
    """ConfigError is retryable: the event is redelivered once the registry exists."""
    settings = Settings.from_env()
    bucket = FileBucket(settings.bucket_url)
    info = bucket.list()[0]
    app = create_app("register_model", str(ROOT / "functions" / "register_model" / "main.py"), "cloudevent")
    response = post(app.test_client(), storage_event(bucket.name, info.name, info.generation, info.size))
    assert response.status_code == 500
    assert not missing.parent.exists()


def test_only_migrate_creates_the_registry(missing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert (missing / "registry.duckdb").is_file()
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"


@pytest.mark.parametrize("argv", [("list",), ("migrate",)], ids=["list", "migrate"])
def test_a_registry_url_naming_a_folder_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    """Not "run migrate" (migrate cannot help) nor "busy" (exit 6, try later): the URL is wrong."""
    monkeypatch.setenv("MODEL_REGISTRY_URL", f"duckdb://{tmp_path}/")
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == CONFIG and "names a folder" in err and "registry.duckdb" in err, err
    assert "run `modelctl migrate`" not in err and sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("query", "said"),
    [("lock_wait=soon", "lock_wait must be a number of seconds"), ("lock_wait=-1", "0 or more"),
     ("lockwait=2", "unknown option(s) lockwait; valid: lock_wait"), ("lock_wait", "lock_wait must be")],
    ids=["not-a-number", "negative", "misspelt", "no-value"],
)  # fmt: skip
def test_a_bad_registry_url_option_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], query: str, said: str
) -> None:
    monkeypatch.setenv("MODEL_REGISTRY_URL", f"duckdb://{tmp_path / 'registry.duckdb'}?{query}")
    assert main(["migrate"]) == CONFIG
    err = capsys.readouterr().err
    assert said in err, err
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_lock_wait_in_the_url_is_how_long_an_open_waits_for_another_process(tmp_path: Path) -> None:
    """`?lock_wait=SECONDS`: a registry held by another process is busy after that long, not 15 s."""
    import subprocess
    import sys
    import time

    from common.errors import TransientError
    from common.sql import open_engine
    from tests.support.migrated import migrated_store

    url = f"duckdb://{tmp_path / 'registry.duckdb'}"
    migrated_store(url)
    hold = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.readline()"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path / "registry.duckdb")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(TransientError, match="is busy"):
            open_engine(f"{url}?lock_wait=0.5").query("SELECT 1 AS one")
        assert 0.5 <= time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert open_engine(f"{url}?lock_wait=0.5").query("SELECT 1 AS one") == [{"one": 1}]
