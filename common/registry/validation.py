"""What a model file is, checked: embedded card first, legacy file name second.

Every check raises ``InvalidModel`` with a sentence a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from common.errors import AppError, InvalidModel
from common.feature_sets import get_feature_set
from common.registry import limits
from common.registry.modelfile import LoadedModel, load_model_bytes, parse_date
from common.registry.naming import (
    LOSSES,
    check_alpha,
    check_model_id,
    family_name,
    legacy_model_id,
    parse_legacy_file_name,
)

LEGACY_HINT = "catboost_v9_33f_trainYYYYMMDD-YYYYMMDD_YYYYMMDD_HHMMSS.cbm"
_METRICS = ("backtest_mae", "backtest_hit_rate_all", "backtest_hit_rate_edge_3plus")
#: short text fields a card may carry; checked for type and length even when not stored
_SHORT_TEXT = ("model_family", "feature_set", "loss_function", "model_id", "data_fingerprint", "code_version")


@dataclass(frozen=True)
class ModelFacts:
    """Validated facts about one model file."""

    family: str
    feature_set: str
    loss_function: str
    quantile_alpha: float | None
    train_start: date
    train_end: date
    eval_start: date | None
    eval_end: date | None
    backtest_mae: float | None
    backtest_hit_rate_all: float | None
    backtest_hit_rate_edge_3plus: float | None
    backtest_n_edge_3plus: int | None
    strengths_json: str | None
    description: str | None
    declared_id: str | None
    legacy_id: str | None


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
    for name in _SHORT_TEXT:
        limits.text(info.get(name), name)
    feature_set = get_feature_set(str(info.get("feature_set", "")))
    feature_set.check_model_names(loaded.feature_names)
    loss = str(info.get("loss_function", ""))
    if loss not in LOSSES:
        raise InvalidModel(f"loss_function {loss!r} is not one of {', '.join(LOSSES)}")
    alpha = limits.number(info.get("quantile_alpha"), "quantile_alpha")
    check_alpha(alpha, loss)
    _check_against_model(loaded, loss, alpha)
    expected = family_name(feature_set.name, loss, alpha)
    declared = info.get("model_family")
    if declared not in (None, expected):
        raise InvalidModel(f"family {declared!r} contradicts the model's loss and alpha (expected {expected!r})")
    start, end = _train_window(info)
    eval_start = parse_date(info.get("eval_start"), "eval_start")
    eval_end = parse_date(info.get("eval_end"), "eval_end")
    if eval_start and eval_end and eval_end < eval_start:
        raise InvalidModel(f"eval_end {eval_end} is before eval_start {eval_start}")
    legacy = info.get("_legacy")
    return ModelFacts(
        family=expected,
        feature_set=feature_set.name,
        loss_function=loss,
        quantile_alpha=alpha,
        train_start=start,
        train_end=end,
        eval_start=eval_start,
        eval_end=eval_end,
        **{m: limits.number(info.get(m), m) for m in _METRICS},  # type: ignore[arg-type]
        backtest_n_edge_3plus=limits.whole(info.get("backtest_n_edge_3plus"), "backtest_n_edge_3plus"),
        strengths_json=limits.strengths(info.get("strengths", info.get("strengths_json"))),
        description=limits.description(info.get("description")),
        declared_id=_declared_id(info.get("model_id")),
        legacy_id=legacy_model_id(feature_set.name, start, end) if legacy and expected.endswith("_mae") else None,
    )


def _check_against_model(loaded: LoadedModel, loss: str, alpha: float | None) -> None:
    """The card must agree with what CatBoost says the model was trained with."""
    if loaded.loss_function != loss:
        raise InvalidModel(f"declared loss {loss} contradicts the model, which was trained with {loaded.loss_function}")
    alphas_known = loss == "Quantile" and alpha is not None and loaded.quantile_alpha is not None
    if alphas_known and abs(loaded.quantile_alpha - alpha) > 1e-6:  # type: ignore[operator]
        raise InvalidModel(f"declared alpha {alpha} contradicts the model's alpha {loaded.quantile_alpha}")


def _train_window(info: dict[str, Any]) -> tuple[date, date]:
    start = parse_date(info.get("train_start"), "train_start")
    end = parse_date(info.get("train_end"), "train_end")
    if start is None or end is None:
        raise InvalidModel("train_start and train_end are required (YYYY-MM-DD)")
    limits.train_window(start, end)
    return start, end


def _declared_id(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return check_model_id(str(value))
    except AppError as exc:
        raise InvalidModel(f"embedded model_id: {exc}") from None
