"""Self-describing ``.cbm`` files: the model card embedded in CatBoost metadata.

CatBoost models carry a string key/value metadata map and their feature names.
Training writes one key, ``model_card``, holding a JSON document (its fields:
``card.py``'s ``CARD_FIELDS``), so a model file explains itself wherever it lands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from common.errors import InvalidModel
from common.registry.card import ModelCard
from common.registry.limits import card_text

MODEL_CARD_KEY = "model_card"
_QUANTILE = re.compile(r"^Quantile(?::alpha=(?P<alpha>[0-9.]+))?$")


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
    try:  # untrusted bytes: whatever CatBoost trips over is the file's fault, not ours
        metadata = dict(model.get_metadata())
        names = tuple(str(n) for n in model.feature_names_ or ())
    except Exception as exc:  # noqa: BLE001 - translated at the boundary with the file
        raise InvalidModel(f"not a readable CatBoost model: {type(exc).__name__} reading its metadata") from None
    card = None
    if MODEL_CARD_KEY in metadata:
        card = card_text(metadata[MODEL_CARD_KEY])
        if not isinstance(card, dict):
            raise InvalidModel("the embedded model_card must be a JSON object")
    return LoadedModel(model, names, loss, alpha, card)


def embed_card(model: Any, card: ModelCard) -> None:
    """Write the card into a trained model's metadata (before ``save_model``)."""
    model.get_metadata()[MODEL_CARD_KEY] = card.to_json()
