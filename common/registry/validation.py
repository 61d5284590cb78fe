"""What a model file is, checked: embedded card first, legacy file name second.

Every check raises ``InvalidModel`` with a sentence a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.errors import AppError, InvalidModel
from common.feature_sets import get_feature_set
from common.registry import limits
from common.registry.card import CARD_FIELDS
from common.registry.modelfile import LoadedModel, load_model_bytes
from common.registry.naming import (
    LOSSES,
    check_alpha,
    check_model_id,
    family_name,
    legacy_model_id,
    parse_legacy_file_name,
)

LEGACY_HINT = "catboost_v9_33f_trainYYYYMMDD-YYYYMMDD_YYYYMMDD_HHMMSS.cbm"


@dataclass(frozen=True)
class ModelFacts:
    """Validated facts about one model file: a value for every ``model_registry`` column a card
    field fills (``card.CARD_FIELDS``), and the id it asks for (declared, or the legacy one)."""

    columns: dict[str, Any]  # column -> value as stored (dates parsed, strengths canonical JSON)
    declared_id: str | None
    legacy_id: str | None

    @property
    def family(self) -> str:
        return str(self.columns["model_family"])

    def __getattr__(self, name: str) -> Any:
        """``facts.train_start`` and the like: the column of that name."""
        try:
            return self.__dict__["columns"][name]
        except KeyError:
            raise AttributeError(name) from None


def read_facts(data: bytes, name: str, object_metadata: dict[str, str] | None = None) -> ModelFacts:
    """Load the model from ``data`` and validate what it says about itself."""
    loaded = load_model_bytes(data)
    info = _gather(loaded, name, object_metadata or {})
    try:
        return _validate(loaded, info)
    except AppError as exc:
        raise InvalidModel(str(exc)) from None


def _gather(loaded: LoadedModel, name: str, metadata: dict[str, str]) -> dict[str, Any]:
    """Merge the card (authoritative) over object metadata over the legacy file name."""
    info: dict[str, Any] = {k: v for k, v in metadata.items() if v not in (None, "")}
    if loaded.card is not None:
        info.update({k: v for k, v in loaded.card.items() if v is not None})
        info["_source"] = "card"
        return info
    legacy = parse_legacy_file_name(name)
    if legacy is None and "feature_set" not in info:
        raise InvalidModel(
            f"{name!r} carries no embedded model_card and its name does not follow the legacy convention "
            f"{LEGACY_HINT}; train it with `modelctl train` or rename it"
        )
    if legacy is not None:
        if legacy.n_features != len(loaded.feature_names):
            raise InvalidModel(
                f"file name says {legacy.n_features} features but the model has {len(loaded.feature_names)}"
            )
        info.setdefault("feature_set", legacy.feature_set)
        info.setdefault("train_start", legacy.train_start.isoformat())
        info.setdefault("train_end", legacy.train_end.isoformat())
        info["_legacy"] = legacy
    info.setdefault("loss_function", loaded.loss_function)
    if loaded.loss_function == "Quantile":
        info.setdefault("quantile_alpha", loaded.quantile_alpha)
    info["_source"] = "legacy file name" if legacy else "object metadata"
    return info


def _validate(loaded: LoadedModel, info: dict[str, Any]) -> ModelFacts:
    # every field for its type, finiteness, bounds and length first, then the rules across fields
    checked = {f.name: f.check(info.get(f.name, info.get(f.column or f.name))) for f in CARD_FIELDS}
    feature_set = get_feature_set(checked["feature_set"] or "")
    feature_set.check_model_names(loaded.feature_names)
    loss = str(checked["loss_function"] or "")
    if loss not in LOSSES:
        raise InvalidModel(f"loss_function {loss!r} is not one of {', '.join(LOSSES)}")
    alpha = checked["quantile_alpha"]
    check_alpha(alpha, loss)
    _check_against_model(loaded, loss, alpha)
    expected = family_name(feature_set.name, loss, alpha)
    if checked["model_family"] not in (None, expected):
        raise InvalidModel(
            f"family {checked['model_family']!r} contradicts the model's loss and alpha (expected {expected!r})"
        )
    _check_windows(checked)
    start, end = checked["train_start"], checked["train_end"]
    checked.update(model_family=expected, feature_set=feature_set.name, loss_function=loss)
    legacy = info.get("_legacy")
    return ModelFacts(
        columns={f.column: checked[f.name] for f in CARD_FIELDS if f.column},
        declared_id=_declared_id(checked["model_id"]),
        legacy_id=legacy_model_id(feature_set.name, start, end) if legacy and expected.endswith("_mae") else None,
    )


def _check_against_model(loaded: LoadedModel, loss: str, alpha: float | None) -> None:
    """The card must agree with what CatBoost says the model was trained with."""
    if loaded.loss_function != loss:
        raise InvalidModel(f"declared loss {loss} contradicts the model, which was trained with {loaded.loss_function}")
    alphas_known = loss == "Quantile" and alpha is not None and loaded.quantile_alpha is not None
    if alphas_known and abs(loaded.quantile_alpha - alpha) > 1e-6:  # type: ignore[operator]
        raise InvalidModel(f"declared alpha {alpha} contradicts the model's alpha {loaded.quantile_alpha}")


def _check_windows(checked: dict[str, Any]) -> None:
    start, end = checked["train_start"], checked["train_end"]
    if start is None or end is None:
        raise InvalidModel("train_start and train_end are required (YYYY-MM-DD)")
    limits.train_window(start, end)
    eval_start, eval_end = checked["eval_start"], checked["eval_end"]
    if eval_start and eval_end and eval_end < eval_start:
        raise InvalidModel(f"eval_end {eval_end} is before eval_start {eval_start}")


def _declared_id(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return check_model_id(str(value))
    except AppError as exc:
        raise InvalidModel(f"embedded model_id: {exc}") from None
