"""The bad-input catalogue, part 1: bad model files. Every bad input gets a clear error, is
recorded as a rejection, and writes nothing else.

The catalogue, one module per topic, each case with its expected outcome:

* ``test_registration_bad_inputs.py`` — unreadable or inconsistent model files (this module);
* ``test_registration_hostile_cards.py`` — hostile model cards (non-finite, huge, wrongly typed,
  oversized fields) through the CLI and the finalize function;
* ``test_cli_output_safety.py`` — terminal control characters, strict JSON, over-long reasons;
* ``test_cli_bad_options.py`` — every ``modelctl`` option with a bad value;
* ``test_registry_location.py`` — a registry URL naming a folder that does not exist;
* ``test_watch_resilience.py`` — ``modelctl watch`` under bad files, locks and missing registries;
* ``test_promotion_rule.py`` — promotions without evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from common.errors import AppError, Conflict, InvalidArgument, InvalidModel
from common.feature_sets import V9_FEATURES
from common.registry.registration import RegistrationService
from tests.conftest import ModelFiles
from tests.support.tiny import tiny_card, tiny_model_bytes

Case = Callable[[ModelFiles], bytes]

CASES: list[tuple[str, Case, type[AppError], str]] = [
    ("corrupt bytes", lambda m: m.v9_mae[: len(m.v9_mae) // 2], InvalidModel, "not a readable CatBoost model"),
    ("zero-byte file", lambda m: b"", InvalidModel, "empty (0 bytes)"),
    ("not a CatBoost file", lambda m: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, InvalidModel, "not a readable CatBoost"),
    (
        "wrong feature count",
        lambda m: tiny_model_bytes(tiny_card("v9"), feature_names=list(V9_FEATURES[:30])),
        InvalidModel,
        "model has 30 features but feature set v9 has 33",
    ),
    (
        "wrong feature names",
        lambda m: tiny_model_bytes(tiny_card("v9"), feature_names=[*V9_FEATURES[:32], "secret_sauce"]),
        InvalidModel,
        "feature 32 is 'secret_sauce' but feature set v9 (positional) expects 'line_vs_season_avg'",
    ),
    (
        "family contradicts the loss",
        lambda m: tiny_model_bytes(tiny_card("v9", model_family="v9_q45"), catboost_loss="MAE"),
        InvalidModel,
        "family 'v9_q45' contradicts the model's loss and alpha (expected 'v9_mae')",
    ),
    (
        "card loss contradicts the trained loss",
        lambda m: tiny_model_bytes(tiny_card("v9"), catboost_loss="RMSE"),
        InvalidModel,
        "declared loss MAE contradicts the model, which was trained with RMSE",
    ),
    (
        "alpha outside (0,1)",
        lambda m: tiny_model_bytes(
            tiny_card("v9", "Quantile", 0.43, model_family="v9_q43", quantile_alpha=1.5),
            catboost_loss="Quantile:alpha=0.43",
        ),
        InvalidModel,
        "strictly between 0 and 1",
    ),
    (
        "train_end before train_start",
        lambda m: tiny_model_bytes(tiny_card("v9", train_start=date(2026, 2, 15), train_end=date(2025, 11, 2))),
        InvalidModel,
        "train_end 2025-11-02 is before train_start 2026-02-15",
    ),
    (
        "unknown feature set",
        lambda m: tiny_model_bytes(replace(tiny_card("v9"), feature_set="v10"), feature_names=list(V9_FEATURES)),
        InvalidModel,
        "unknown feature set 'v10'; known feature sets: v12, v12_noveg, v9",
    ),
    (
        "id with SQL metacharacters",
        lambda m: tiny_model_bytes(tiny_card("v9", model_id="x'; DROP TABLE model_registry; --")),
        InvalidModel,
        "embedded model_id: invalid model id",
    ),
    (
        "no card and no legacy name",
        lambda m: m.legacy_v9,
        InvalidModel,
        "carries no embedded model_card and its name does not follow the legacy convention",
    ),
]


@pytest.mark.parametrize(("label", "make", "error", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_model_is_rejected_and_nothing_written(
    duck_registration: RegistrationService,
    model_files: ModelFiles,
    tmp_path: Path,
    label: str,
    make: Case,
    error: type[AppError],
    message: str,
) -> None:
    store = duck_registration.registry
    source = tmp_path / "incoming" / "model.cbm"
    source.parent.mkdir()
    source.write_bytes(make(model_files))
    with pytest.raises(error) as caught:
        duck_registration.register_file(source)
    assert message in str(caught.value), str(caught.value)
    assert store.list() == [] and store.events() == []
    assert duck_registration.bucket.list() == []  # nothing copied into the bucket
    rejections = store.rejections()
    assert len(rejections) == 1 and message in rejections[0].reason
    with pytest.raises(error):  # a second attempt records no second rejection
        duck_registration.register_file(source)
    assert len(store.rejections()) == 1


def test_duplicate_id_with_different_bytes_is_a_conflict(
    duck_registration: RegistrationService, tmp_path: Path
) -> None:
    first = tmp_path / "first.cbm"
    second = tmp_path / "second.cbm"
    first.write_bytes(tiny_model_bytes(tiny_card("v9", model_id="catboost_v9_mae_special"), seed=1))
    second.write_bytes(tiny_model_bytes(tiny_card("v9", model_id="catboost_v9_mae_special"), seed=2))
    assert duck_registration.register_file(first).record.model_id == "catboost_v9_mae_special"
    objects_before = duck_registration.bucket.list()
    with pytest.raises(Conflict, match="already registered with different bytes"):
        duck_registration.register_file(second)
    assert len(duck_registration.registry.list()) == 1
    assert duck_registration.bucket.list() == objects_before
    assert duck_registration.registry.rejections()[0].error_type == "Conflict"


def test_oversize_object_is_rejected_before_download(duck_registration: RegistrationService) -> None:
    info = duck_registration.bucket.write("models/huge.cbm", b"x" * 10)
    small = RegistrationService(duck_registration.registry, duck_registration.bucket, max_bytes=5)
    with pytest.raises(InvalidModel, match="over the 5-byte limit"):
        small.register_object(info.name, info.generation, info.size)
    assert duck_registration.registry.list() == []


def test_promote_of_a_disabled_model(duck_registration: RegistrationService, tmp_path: Path) -> None:
    path = tmp_path / "m.cbm"
    path.write_bytes(tiny_model_bytes(tiny_card("v9"), seed=9))
    model_id = duck_registration.register_file(path).record.model_id
    with pytest.raises(Conflict, match=f"{model_id} is disabled; only an enabled model can be promoted"):
        duck_registration.registry.promote(model_id)
    assert duck_registration.registry.champion() is None


@pytest.mark.parametrize("bad", ["x'; DROP TABLE model_registry; --", "../etc/passwd", "", "A" * 200])
def test_bad_ids_are_refused_at_the_cli_boundary(bad: str) -> None:
    from common.registry.naming import check_model_id

    with pytest.raises(InvalidArgument, match="invalid model id"):
        check_model_id(bad)


def test_a_file_named_like_a_registered_one_never_overwrites_its_object(
    duck_registration: RegistrationService, tmp_path: Path
) -> None:
    """Two trainings both saved as ``model.cbm``: the second upload must not replace the first's bytes."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "model.cbm", tmp_path / "b" / "model.cbm"
    first.write_bytes(tiny_model_bytes(tiny_card("v9"), seed=31))
    second.write_bytes(tiny_model_bytes(tiny_card("v9"), seed=32))

    one = duck_registration.register_file(first).record
    two = duck_registration.register_file(second).record

    assert one.model_id != two.model_id and one.source_object != two.source_object
    for record, path in ((one, first), (two, second)):
        data, _ = duck_registration.bucket.read(record.source_object or "", max_bytes=10**8)
        assert data == path.read_bytes(), record.model_id


def test_the_card_its_checks_and_its_columns_come_from_one_spec(
    duck_registration: RegistrationService, tmp_path: Path
) -> None:
    """``CARD_FIELDS`` is the one list: the card's fields, each field's check, the registry columns a
    registration fills and the legacy dict's fields all follow it."""
    from dataclasses import MISSING, fields

    from common.registry.card import CARD_FIELDS, FIELDS, ModelCard
    from common.registry.legacy_import import _FACT_FIELDS
    from common.registry.model import ModelRecord, bigquery_types

    assert [f.name for f in fields(ModelCard)] == [*(f.name for f in CARD_FIELDS), "schema"]
    no_default = [f.name for f in fields(ModelCard) if f.default is MISSING and f.default_factory is MISSING]
    assert no_default == [f.name for f in CARD_FIELDS if f.required]
    columns = bigquery_types(ModelRecord)
    card_columns = {f.column: f for f in CARD_FIELDS if f.column}
    assert set(card_columns) <= set(columns)  # every stored card field has its model_registry column
    expected = {"number": {"FLOAT64", "INT64"}, "date": {"DATE"}, "text": {"STRING"}, "json": {"STRING"}}
    assert all(columns[c] in expected[f.kind] for c, f in card_columns.items())
    assert set(_FACT_FIELDS) == {f.name for f in CARD_FIELDS if f.legacy}
    # a bound changed in the spec is the bound registration applies
    with pytest.raises(InvalidModel, match=r"backtest_mae 101 is outside the range \[0, 100\]"):
        FIELDS["backtest_mae"].check(101)
    assert FIELDS["backtest_n_edge_3plus"].check("12") == 12 and FIELDS["train_end"].check("2026-01-31")
    path = tmp_path / "spec.cbm"
    path.write_bytes(tiny_model_bytes(tiny_card("v9", backtest_mae=4.25), seed=5))
    record = duck_registration.register_file(path).record
    assert {c: getattr(record, c) for c in card_columns}["backtest_mae"] == 4.25
    assert record.strengths_json == '{"edge_3plus": "stable"}' and record.train_start == date(2025, 11, 2)
