"""Cutover from the legacy system: real legacy files register, and MONTHLY_MODELS imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import InvalidModel
from common.feature_sets import V9_FEATURES, get_feature_set, positional_names
from common.registry.registration import RegistrationService
from tests.conftest import LEGACY_NAME
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
