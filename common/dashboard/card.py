"""A model's card as a reader wants it: features with CatBoost's importance, hyperparameters,
backtest beside live, over/under splits as a table, and lineage.

Read from the registered file itself (the card is embedded in it). Importance is CatBoost's
``PredictionValuesChange`` (``get_feature_importance()``, read from the trees' leaf values: no data
needed, ~20 ms for a 150-tree model) and computed once per file: the result is cached by sha256
beside the card (a file never changes under its hash), at most ``MAX_FILES`` files.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

from common.errors import AppError
from common.registry.model import ModelRecord
from common.registry.modelfile import load_model_bytes
from common.storage import read_uri

MAX_FILES = 64
#: the training hyperparameters shown (CatBoost's names); the rest are CatBoost defaults
HYPERPARAMETERS = ("iterations", "depth", "learning_rate", "loss_function", "l2_leaf_reg", "random_seed",
                   "border_count", "grow_policy", "bootstrap_type", "min_data_in_leaf")  # fmt: skip
#: card keys shown elsewhere on the page (facts, backtest table, splits), not repeated in "other"
_SHOWN = {"model_family", "feature_set", "loss_function", "quantile_alpha", "train_start", "train_end",
          "backtest_mae", "backtest_hit_rate_all", "backtest_hit_rate_edge_3plus", "backtest_n_edge_3plus",
          "strengths", "eval_start", "eval_end"}  # fmt: skip
_SPLITS = (("over_all", "OVER", "all bets"), ("over_edge_3plus", "OVER", "edge 3+"),
           ("under_all", "UNDER", "all bets"), ("under_edge_3plus", "UNDER", "edge 3+"))  # fmt: skip


@dataclass(frozen=True)
class FileFacts:
    """What the file says about itself: its card, features with importance, hyperparameters."""

    card: dict[str, Any] | None
    importance: tuple[tuple[str, float], ...]  # (feature, importance %), most important first
    params: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Split:
    side: str
    which: str
    hit_rate: str
    n: str


@dataclass(frozen=True)
class Card:
    """The card section of a model page."""

    error: str | None
    importance: tuple[tuple[str, float], ...]
    params: tuple[tuple[str, str], ...]
    splits: tuple[Split, ...]
    other: tuple[tuple[str, str], ...]  # the remaining card keys, nulls left out
    backtest: dict[str, Any]  # backtest_* figures and the evaluation window


_FILES: dict[str, FileFacts] = {}
_LOCK = threading.Lock()


def read_file_facts(record: ModelRecord, max_bytes: int) -> tuple[FileFacts | None, str | None]:
    """The registered file's card, importance and hyperparameters (cached by sha256), or why not."""
    if record.sha256 and record.sha256 in _FILES:
        return _FILES[record.sha256], None
    try:
        data = read_uri(record.model_path, max_bytes=max_bytes)
    except AppError as exc:
        return None, f"model file unreadable: {exc}"
    actual = hashlib.sha256(data).hexdigest()
    if record.sha256 and actual != record.sha256:
        return None, f"the file at {record.model_path} has sha256 {actual}, the registry says {record.sha256}"
    try:
        loaded = load_model_bytes(data)
    except AppError as exc:
        return None, str(exc)
    facts = FileFacts(loaded.card, _importance(loaded.model, loaded.feature_names), _params(loaded.model))
    with _LOCK:
        if len(_FILES) >= MAX_FILES:
            _FILES.pop(next(iter(_FILES)))
        _FILES[actual] = facts
    return facts, None


def _importance(model: Any, names: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    try:  # untrusted bytes: a model CatBoost cannot explain shows no importance, not an error page
        values = [float(v) for v in model.get_feature_importance()]
    except Exception:  # noqa: BLE001 - the list is optional; the card still shows
        return ()
    pairs = zip(names or tuple(f"feature {i}" for i in range(len(values))), values, strict=False)
    return tuple(sorted(pairs, key=lambda p: -p[1]))


def _params(model: Any) -> tuple[tuple[str, str], ...]:
    try:
        params = dict(model.get_all_params())
    except Exception:  # noqa: BLE001 - as above
        return ()
    return tuple((k, f"{params[k]:.4g}" if isinstance(params[k], float) else str(params[k]))
                 for k in HYPERPARAMETERS if k in params)  # fmt: skip


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def card_view(facts: FileFacts | None, error: str | None) -> Card:
    """The card section from the file's facts: no JSON strings for the splits, no null values."""
    card = (facts.card if facts else None) or {}
    if facts is not None and facts.card is None:
        error = "this file carries no embedded model card (a legacy file: the registry row above is all there is)"
    raw = card.get("strengths")
    strengths: dict[str, Any] = raw if isinstance(raw, dict) else {}
    splits = []
    for key, side, which in _SPLITS:
        split = strengths.get(key)
        if isinstance(split, dict):
            rate, n = split.get("hit_rate"), split.get("n")
            shown = "–" if rate is None else f"{float(rate):.1f}%"
            splits.append(Split(side, which, shown, "–" if n is None else str(n)))
    rest = {k: v for k, v in strengths.items() if k not in {s[0] for s in _SPLITS}}
    other = [(k, _text(v)) for k, v in card.items() if k not in _SHOWN and v is not None]
    other += [(f"strengths.{k}", _text(v)) for k, v in rest.items() if v is not None]
    return Card(
        error=error,
        importance=facts.importance if facts else (),
        params=facts.params if facts else (),
        splits=tuple(splits),
        other=tuple(other),
        backtest={
            k: card.get(k)
            for k in (
                "backtest_mae",
                "backtest_hit_rate_all",
                "backtest_hit_rate_edge_3plus",
                "backtest_n_edge_3plus",
                "eval_start",
                "eval_end",
            )
        },  # fmt: skip
    )


def retrained_from(record: ModelRecord, models: list[ModelRecord]) -> ModelRecord | None:
    """The family's previous model (lineage): the latest trained before ``record`` (training end,
    then registration time)."""

    def order(m: ModelRecord) -> tuple[date, float, str]:
        return m.train_end, m.created_at.timestamp() if m.created_at else 0.0, m.model_id

    earlier = [m for m in models if m.model_family == record.model_family and order(m) < order(record)]
    return max(earlier, key=order, default=None)
