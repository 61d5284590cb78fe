"""Self-describing ``.cbm`` files: the model card embedded in CatBoost metadata.

CatBoost models carry a string key/value metadata map and their feature names.
Training writes one key, ``model_card``, holding a JSON document (family, feature
set, loss, alpha, dates, metrics, strengths, data fingerprint, code version), so
a model file explains itself wherever it lands.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from common.errors import InvalidModel

MODEL_CARD_KEY = "model_card"
CARD_SCHEMA = 1
_QUANTILE = re.compile(r"^Quantile(?::alpha=(?P<alpha>[0-9.]+))?$")


@dataclass(frozen=True)
class ModelCard:
    """What a model says about itself."""

    model_family: str
    feature_set: str
    loss_function: str
    quantile_alpha: float | None
    train_start: str
    train_end: str
    eval_start: str | None = None
    eval_end: str | None = None
    backtest_mae: float | None = None
    backtest_hit_rate_all: float | None = None
    backtest_hit_rate_edge_3plus: float | None = None
    backtest_n_edge_3plus: int | None = None
    description: str | None = None
    strengths: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: str | None = None
    code_version: str | None = None
    model_id: str | None = None
    schema: int = CARD_SCHEMA

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class LoadedModel:
    """A CatBoost model read from bytes, with what it reveals about itself."""

    model: Any  # catboost.CatBoostRegressor
    feature_names: tuple[str, ...]
    loss_function: str  # "MAE", "Quantile", or what CatBoost reports (e.g. "RMSE")
    quantile_alpha: float | None
    card: dict[str, Any] | None


def parse_catboost_loss(raw: str) -> tuple[str, float | None]:
    """``'Quantile:alpha=0.43'`` → ('Quantile', 0.43); ``'MAE'`` → ('MAE', None)."""
    match = _QUANTILE.match(raw or "")
    if match:
        return "Quantile", float(match["alpha"]) if match["alpha"] else 0.5
    return (raw or "unknown").split(":", 1)[0], None


def load_model_bytes(data: bytes) -> LoadedModel:
    """Load a ``.cbm`` from bytes or raise ``InvalidModel`` saying why."""
    if not data:
        raise InvalidModel("the model file is empty (0 bytes)")
    from catboost import CatBoostError, CatBoostRegressor

    model = CatBoostRegressor()
    try:
        model.load_model(blob=data)
    except CatBoostError as exc:
        raise InvalidModel(f"not a readable CatBoost model: {str(exc).splitlines()[0][:200]}") from None
    try:
        raw_loss = str(model.get_all_params().get("loss_function", ""))
    except CatBoostError:
        raw_loss = ""
    loss, alpha = parse_catboost_loss(raw_loss)
    metadata = dict(model.get_metadata())
    card = None
    if MODEL_CARD_KEY in metadata:
        try:
            card = json.loads(metadata[MODEL_CARD_KEY])
        except json.JSONDecodeError as exc:
            raise InvalidModel(f"the embedded model_card is not valid JSON: {exc}") from None
        if not isinstance(card, dict):
            raise InvalidModel("the embedded model_card must be a JSON object")
    return LoadedModel(model, tuple(model.feature_names_ or ()), loss, alpha, card)


def embed_card(model: Any, card: ModelCard) -> None:
    """Write the card into a trained model's metadata (before ``save_model``)."""
    model.get_metadata()[MODEL_CARD_KEY] = card.to_json()


def parse_date(value: Any, name: str) -> date | None:
    """A card/metadata date (ISO ``YYYY-MM-DD``) or None; anything else is invalid."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidModel(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def parse_float(value: Any, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidModel(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number):  # "nan", "inf" parse, but no metric or alpha is ever one
        raise InvalidModel(f"{name} {value!r} is not a finite number")
    return number


def parse_int(value: Any, name: str) -> int | None:
    number = parse_float(value, name)
    if number is None:
        return None
    if number != int(number):
        raise InvalidModel(f"{name} {value!r} is not a whole number")
    return int(number)
