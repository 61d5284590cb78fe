"""The model card's fields, declared once: name, type, required, bounds, description.

A card is the JSON document training embeds in a ``.cbm`` (``modelfile.py``). Everything
about its fields is derived from :data:`CARD_FIELDS`:

* the :class:`ModelCard` training writes (its fields, in this order, required ones first);
* each field's check on an incoming card, for type, finiteness, range and length
  (:meth:`CardField.check`, run by ``validation.py`` before its cross-field rules);
* which ``model_registry`` column a field fills (``CardField.column``; registration copies them);
* which fields the legacy ``MONTHLY_MODELS`` dict carries (``CardField.legacy``; the cutover import).

The limits on lengths shared with other inputs are ``limits.py``'s; the per-field bounds are here.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, make_dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from common.errors import InvalidModel
from common.registry import limits
from common.registry.limits import Range

CARD_SCHEMA = 1
Kind = Literal["text", "number", "date", "json"]
_TYPES: dict[Kind, Any] = {"text": str, "number": float, "date": str, "json": dict}


def parse_date(value: Any, name: str) -> date | None:
    """A card/metadata date (ISO ``YYYY-MM-DD``) or None; anything else is invalid."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) > 10:
        raise InvalidModel(f"{name} {limits.quote(value)} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidModel(f"{name} {limits.quote(value)} is not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class CardField:
    """One field of the model card."""

    name: str
    kind: Kind  # text, a number (``bounds``), an ISO date (text in the card), a JSON object
    description: str
    required: bool = False  # every card states it (no default in ModelCard), null where the value allows
    bounds: Range | None = None  # numbers: inclusive range (``integer``: whole numbers)
    max_chars: int = limits.MAX_SHORT_TEXT_CHARS  # text: longest accepted
    column: str | None = None  # the model_registry column it fills (None: kept in the file only)
    legacy: bool = False  # the legacy MONTHLY_MODELS dict carries it (``legacy_import.py``)

    @property
    def type(self) -> Any:
        """The Python type of the value in the card (whole numbers: int)."""
        return int if self.bounds is not None and self.bounds.integer else _TYPES[self.kind]

    def check(self, value: Any) -> Any:
        """The value as the registry stores it (dates parsed, JSON canonical), None when absent;
        ``InvalidModel`` naming the field when it has the wrong type, is not finite, or is out of bounds."""
        if self.kind == "number":
            return limits.number(value, self.name, self.bounds or Range(-math.inf, math.inf))
        if self.kind == "date":
            return parse_date(value, self.name)
        if self.kind == "json":
            return limits.strengths(value)
        return limits.text(value, self.name, self.max_chars)


def _metric(name: str, description: str, bounds: Range) -> CardField:
    return CardField(name, "number", description, bounds=bounds, column=name, legacy=True)


_PERCENT = Range(0.0, 100.0)
CARD_FIELDS: tuple[CardField, ...] = (
    CardField("model_family", "text", "feature set and loss, e.g. v9_q43 (checked against them)", True,
              column="model_family"),
    CardField("feature_set", "text", "the feature set's name (v9, v12, v12_noveg)", True, column="feature_set"),
    CardField("loss_function", "text", "MAE or Quantile (checked against the model)", True, column="loss_function"),
    # finite here; naming.check_alpha owns the rule "strictly between 0 and 1"
    CardField("quantile_alpha", "number", "the quantile of a Quantile model, else null", True,
              bounds=Range(-math.inf, math.inf), column="quantile_alpha"),
    CardField("train_start", "date", "first day of training data", True, column="train_start", legacy=True),
    CardField("train_end", "date", "last day of training data", True, column="train_end", legacy=True),
    CardField("eval_start", "date", "first day of the evaluation window", column="eval_start", legacy=True),
    CardField("eval_end", "date", "last day of the evaluation window", column="eval_end", legacy=True),
    _metric("backtest_mae", "MAE on the evaluation window, points", _PERCENT),
    _metric("backtest_hit_rate_all", "hit rate of all bets on the evaluation window, percent", _PERCENT),
    _metric("backtest_hit_rate_edge_3plus", "hit rate of the edge-3+ bets, percent", _PERCENT),
    _metric("backtest_n_edge_3plus", "how many edge-3+ bets", Range(0, 10_000_000, integer=True)),
    CardField("description", "text", "free text shown beside the model", max_chars=limits.MAX_DESCRIPTION_CHARS,
              column="description", legacy=True),
    CardField("strengths", "json", "where the model wins (bounded JSON object)", column="strengths_json"),
    CardField("data_fingerprint", "text", "sha256 prefix of the rows trained and evaluated on"),
    CardField("code_version", "text", "the code that trained it"),
    CardField("model_id", "text", "the id it registers under (default: derived by the registry)"),
)  # fmt: skip
FIELDS: dict[str, CardField] = {f.name: f for f in CARD_FIELDS}


class _Card:
    """What every card does (its fields come from ``CARD_FIELDS``)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)  # type: ignore[call-overload]


def _card_class() -> type[_Card]:
    specs: list[Any] = [(f.name, f.type | None) for f in CARD_FIELDS if f.required]
    specs += [(f.name, f.type | None, field(default_factory=dict) if f.kind == "json" else field(default=None))
              for f in CARD_FIELDS if not f.required]  # fmt: skip
    specs.append(("schema", int, field(default=CARD_SCHEMA)))
    card = make_dataclass("ModelCard", specs, bases=(_Card,), frozen=True)
    card.__module__ = __name__
    card.__doc__ = "What a model says about itself: the fields of ``CARD_FIELDS``, in order, and ``schema``."
    return card


if TYPE_CHECKING:

    class ModelCard(_Card):
        __dataclass_fields__: ClassVar[dict[str, Any]]

        def __init__(self, **values: Any) -> None: ...
        def __getattr__(self, name: str) -> Any: ...

else:
    ModelCard = _card_class()
