"""The bad-input catalogue, part 2: hostile model cards (issue 11.3).

Every case is a real ``.cbm`` whose embedded ``model_card`` lies in one way. Through
both front doors — ``modelctl register`` (in-process ``main``) and the
``register_model`` function (functions-framework's app, an Eventarc-shaped event) —
each one must end as exactly one recorded rejection with a sentence naming the field:
CLI exit 2 on one clean line, HTTP 2xx (acknowledged, never a retry storm), no model
row, no audit event, and no object copied into the bucket. The bounds come from
``common/registry/limits.py``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app

from common.app import open_registry
from common.cli.main import main
from common.registry import limits
from common.settings import Settings
from common.storage import FileBucket
from tests.support.events import post, storage_event
from tests.support.tiny import tiny_card, tiny_model_bytes

ROOT = Path(__file__).resolve().parent.parent
BAD = 2
ESC = "\x1b"


def card_json(**overrides: Any) -> str:
    """The tiny v9 card as JSON, with fields replaced (NaN floats become bare ``NaN``)."""
    return json.dumps({**asdict(tiny_card("v9")), **overrides})


def huge_strengths() -> str:
    return card_json(strengths={f"k{i}": i for i in range(limits.MAX_STRENGTHS_KEYS + 1)})


# (case id, the raw model_card text, what the rejection says)
CASES: list[tuple[str, Callable[[], str], str]] = [
    ("n_edge_3plus 'nan'", lambda: card_json(backtest_n_edge_3plus="nan"), "is not a finite number"),
    ("n_edge_3plus 'inf'", lambda: card_json(backtest_n_edge_3plus="inf"), "is not a finite number"),
    ("n_edge_3plus '1e400'", lambda: card_json(backtest_n_edge_3plus="1e400"), "is not a finite number"),
    ("n_edge_3plus 10**30", lambda: card_json(backtest_n_edge_3plus=10**30), "outside the range [0, 1e+07]"),
    ("n_edge_3plus negative", lambda: card_json(backtest_n_edge_3plus=-5), "outside the range"),
    ("n_edge_3plus fractional", lambda: card_json(backtest_n_edge_3plus=2.5), "is not a whole number"),
    ("n_edge_3plus boolean", lambda: card_json(backtest_n_edge_3plus=True), "must be a number, not bool"),
    ("n_edge_3plus list", lambda: card_json(backtest_n_edge_3plus=[1]), "must be a number, not list"),
    ("n_edge_3plus a word", lambda: card_json(backtest_n_edge_3plus="many"), "'many' is not a number"),
    ("backtest_mae NaN literal", lambda: card_json(backtest_mae=float("nan")), "non-finite number (NaN)"),
    ("backtest_mae 'NaN' text", lambda: card_json(backtest_mae="NaN"), "backtest_mae 'NaN' is not a finite"),
    ("backtest_mae -Infinity", lambda: card_json(backtest_mae=float("-inf")), "non-finite number (-Infinity)"),
    ("hit rate over 100%", lambda: card_json(backtest_hit_rate_all=250), "outside the range [0, 100]"),
    ("alpha NaN text", lambda: card_json(quantile_alpha="nan"), "quantile_alpha 'nan' is not a finite"),
    (
        "description over the limit",
        lambda: card_json(description="x" * (limits.MAX_DESCRIPTION_CHARS + 1)),
        "description is 4,097 characters long; at most 4,096",
    ),
    ("description not text", lambda: card_json(description={"a": 1}), "description must be text, not dict"),
    ("strengths too many keys", huge_strengths, "strengths has 301 keys; at most 300"),
    ("strengths key too long", lambda: card_json(strengths={"k" * 101: 1}), "is longer than 100 characters"),
    ("strengths NaN inside", lambda: card_json(strengths={"a": {"b": float("nan")}}), "non-finite number (NaN)"),
    ("strengths a list", lambda: card_json(strengths=[1, 2]), "strengths must be a JSON object"),
    ("strengths bad JSON text", lambda: card_json(strengths="{nope"), "strengths_json is not valid JSON"),
    (
        "card over the limit",
        lambda: card_json(data_fingerprint="f" * limits.MAX_CARD_CHARS),
        "characters; at most 65,536 are allowed",
    ),
    ("card nested too deeply", lambda: "[" * 20000 + "]" * 20000, "nested too deeply"),
    ("card not an object", lambda: "[1, 2, 3]", "must be a JSON object"),
    ("card not JSON", lambda: "{family: v9", "the embedded model_card is not valid JSON"),
    ("code_version too long", lambda: card_json(code_version="c" * 201), "code_version is 201 characters long"),
    ("feature_set not text", lambda: card_json(feature_set=9), "feature_set must be text, not int"),
    ("train_start a number", lambda: card_json(train_start=20251102), "train_start 20251102 is not a date"),
    ("train_start huge text", lambda: card_json(train_start="2" * 5000), "is not a date (YYYY-MM-DD)"),
    ("train_end in year 9999", lambda: card_json(train_end="9999-12-31"), "train_end 9999-12-31 is in the future"),
    ("train_start in year 0001", lambda: card_json(train_start="0001-01-01"), "is before 1990-01-01"),
    (
        "model_id with terminal escapes",
        lambda: card_json(model_id=f"evil{ESC}]0;pwned\x07{ESC}[2J"),
        "embedded model_id: invalid model id",
    ),
]
IDS = [c[0] for c in CASES]


@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "base.cbm"
    path.write_bytes(tiny_model_bytes(tiny_card("v9"), seed=71))
    return path


def with_card(base: Path, raw_card: str) -> bytes:
    """The base model's bytes with its ``model_card`` metadata replaced by ``raw_card``."""
    from catboost import CatBoostRegressor

    model = CatBoostRegressor()
    model.load_model(str(base))
    model.get_metadata()["model_card"] = raw_card
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.cbm"
        model.save_model(str(out))
        return out.read_bytes()


@pytest.fixture(scope="module")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated registry, copied for each test (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "registry.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_REGISTRY_URL", f"duckdb://{path}")
        assert main(["migrate"]) == 0
    return path


@pytest.fixture
def settings(isolated_env: Path, migrated_file: Path) -> Settings:
    shutil.copy(migrated_file, isolated_env / "registry.duckdb")
    return Settings.from_env()


def nothing_but_one_rejection(settings: Settings, message: str) -> None:
    registry = open_registry(settings)
    assert registry.list() == [] and registry.events() == []
    rejections = registry.rejections()
    assert len(rejections) == 1, rejections
    assert message in rejections[0].reason and rejections[0].error_type == "InvalidModel"
    assert len(rejections[0].reason) <= limits.MAX_REASON_CHARS


@pytest.mark.parametrize(("label", "make", "message"), CASES, ids=IDS)
def test_cli_rejects_a_hostile_card(
    settings: Settings,
    base_model: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    label: str,
    make: Callable[[], str],
    message: str,
) -> None:
    source = tmp_path / "incoming" / "hostile.cbm"
    source.parent.mkdir()
    source.write_bytes(with_card(base_model, make()))
    capsys.readouterr()
    assert main(["register", str(source)]) == BAD
    out = capsys.readouterr()
    assert message in out.err and len(out.err.strip().splitlines()) == 1, out.err
    assert ESC not in out.err + out.out and "Traceback" not in out.err
    assert FileBucket(settings.bucket_url).list() == []  # no orphan object
    nothing_but_one_rejection(settings, message)
    assert main(["register", str(source)]) == BAD  # a second attempt: still one rejection
    nothing_but_one_rejection(settings, message)


@pytest.mark.parametrize(("label", "make", "message"), CASES, ids=IDS)
def test_finalize_function_acknowledges_a_hostile_card(
    settings: Settings, base_model: Path, label: str, make: Callable[[], str], message: str
) -> None:
    bucket = FileBucket(settings.bucket_url)
    info = bucket.write("models/v9/v9_mae/hostile.cbm", with_card(base_model, make()))
    app = create_app("register_model", str(ROOT / "functions" / "register_model" / "main.py"), "cloudevent")
    client = app.test_client()
    for _ in range(2):  # a redelivery records no second rejection
        response = post(client, storage_event(bucket.name, info.name, info.generation, info.size))
        assert 200 <= response.status_code < 300, response.data
    nothing_but_one_rejection(settings, message)
