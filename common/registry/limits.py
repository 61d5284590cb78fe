"""Every bound on what may enter the registry, in one place.

A model card is untrusted input: it arrives inside a file anyone with write access
to the bucket can upload. Each field is checked for type, finiteness, range and
length *before* anything is written, so a hostile card becomes one recorded
rejection instead of a crash, a retry storm or an orphan object. The checks are
here; which field gets which (its kind and numeric range) is the card's spec,
``card.py``'s ``CARD_FIELDS``. Operator text (``--reason``) is bounded here too.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from common.errors import ConfigError, InvalidArgument, InvalidModel
from common.text import CONTROL

#: the embedded ``model_card`` JSON document, before it is parsed
MAX_CARD_CHARS = 64 * 1024
#: a model's free-text description
MAX_DESCRIPTION_CHARS = 4096
#: ``strengths``: top-level keys, length of a key, size of the whole JSON document
MAX_STRENGTHS_KEYS = 300
MAX_KEY_CHARS = 100
MAX_STRENGTHS_CHARS = 32 * 1024
#: any other short text a card may carry (data fingerprint, code version, a number as text)
MAX_SHORT_TEXT_CHARS = 200
#: an operator's reason (audit trail) and a recorded rejection's reason
MAX_REASON_CHARS = 1000
#: who acts (``MODELCTL_ACTOR``, else the login name): stamped on every audit event and rejection
MAX_ACTOR_CHARS = 200
#: a training window: no earlier than this, and not ending after tomorrow (a card's dates are facts, not plans;
#: a window ending in 9999 would never have a live out-of-sample day)
EARLIEST_TRAIN_DATE = date(1990, 1, 1)
#: how much of a hostile value an error message quotes
_QUOTE_CHARS = 40


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of a numeric card field (``card.CARD_FIELDS`` gives each its own)."""

    low: float
    high: float
    integer: bool = False


def quote(value: Any) -> str:
    """``repr(value)``, cut short: error messages never carry a whole hostile value."""
    text = repr(value)
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1] + "…"


def number(value: Any, name: str, bounds: Range) -> float | int | None:
    """A finite number within ``bounds`` (ints for integer fields), or None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidModel(f"{name} must be a number, not {type(value).__name__}")
    if isinstance(value, str) and len(value) > MAX_SHORT_TEXT_CHARS:
        raise InvalidModel(f"{name} is {len(value):,} characters long, not a number")
    try:
        parsed = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidModel(f"{name} {quote(value)} is not a number") from None
    if not math.isfinite(parsed):
        raise InvalidModel(f"{name} {quote(value)} is not a finite number")
    if not bounds.low <= parsed <= bounds.high:
        raise InvalidModel(f"{name} {quote(value)} is outside the range [{bounds.low:g}, {bounds.high:g}]")
    if not bounds.integer:
        return parsed
    if parsed != int(parsed):
        raise InvalidModel(f"{name} {quote(value)} is not a whole number")
    return int(parsed)


def text(value: Any, name: str, limit: int = MAX_SHORT_TEXT_CHARS) -> str | None:
    """A string of at most ``limit`` characters, or None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidModel(f"{name} must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidModel(f"{name} is {len(value):,} characters long; at most {limit:,} are allowed")
    return value


def strengths(value: Any) -> str | None:
    """The ``strengths`` object as canonical, strict JSON (no NaN or Infinity), bounded."""
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        if len(value) > MAX_STRENGTHS_CHARS:
            raise InvalidModel(f"strengths is {len(value):,} characters; at most {MAX_STRENGTHS_CHARS:,} are allowed")
        value = strict_loads(value, "strengths_json")
    if not isinstance(value, dict):
        raise InvalidModel("strengths must be a JSON object")
    if len(value) > MAX_STRENGTHS_KEYS:
        raise InvalidModel(f"strengths has {len(value):,} keys; at most {MAX_STRENGTHS_KEYS} are allowed")
    long_key = next((k for k in value if len(str(k)) > MAX_KEY_CHARS), None)
    if long_key is not None:
        raise InvalidModel(f"strengths key {quote(long_key)} is longer than {MAX_KEY_CHARS} characters")
    try:
        encoded = json.dumps(value, sort_keys=True, allow_nan=False)
    except ValueError:
        raise InvalidModel("strengths holds a non-finite number (NaN or Infinity)") from None
    except (TypeError, RecursionError):
        raise InvalidModel("strengths is not plain JSON (or is nested too deeply)") from None
    if len(encoded) > MAX_STRENGTHS_CHARS:
        raise InvalidModel(f"strengths is {len(encoded):,} characters; at most {MAX_STRENGTHS_CHARS:,} are allowed")
    return encoded


def strict_loads(raw: str, name: str) -> Any:
    """Parse JSON, refusing NaN/Infinity literals and pathological nesting."""

    def refuse(constant: str) -> Any:
        raise InvalidModel(f"{name} holds a non-finite number ({constant}); only finite numbers are allowed")

    try:
        return json.loads(raw, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise InvalidModel(f"{name} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidModel(f"{name} is nested too deeply") from None


def card_text(raw: str) -> Any:
    """The embedded ``model_card`` document, parsed strictly and bounded in size."""
    if len(raw) > MAX_CARD_CHARS:
        raise InvalidModel(
            f"the embedded model_card is {len(raw):,} characters; at most {MAX_CARD_CHARS:,} are allowed"
        )
    return strict_loads(raw, "the embedded model_card")


def reason(value: str | None, what: str = "--reason") -> str | None:
    """An operator's reason for the audit trail: at most ``MAX_REASON_CHARS``."""
    if value is not None and len(value) > MAX_REASON_CHARS:
        raise InvalidArgument(f"{what} is {len(value):,} characters long; at most {MAX_REASON_CHARS:,} are allowed")
    return value


def actor(value: str, name: str = "MODELCTL_ACTOR") -> str:
    """Who acts, for the audit trail: at most ``MAX_ACTOR_CHARS`` (refused, not cut: a cut name
    could read as someone else's), one line of printable text (a newline made one audit event read
    as two people's; a control character is never shown, so who acted would differ from what is
    read), and not blank (a change by no one)."""
    if len(value) > MAX_ACTOR_CHARS:
        raise ConfigError(f"{name} is {len(value):,} characters long; at most {MAX_ACTOR_CHARS:,} are allowed")
    bad = CONTROL.search(value) or re.search(r"[\t\n\r]", value)
    if bad:
        raise ConfigError(
            f"{name} contains a control character (U+{ord(bad.group()):04X}); an actor is one line of printable text"
        )
    if not value.strip():
        raise ConfigError(f"{name} is blank: set it to who acts (the audit trail records it)")
    return value


def clip(message: str, limit: int = MAX_REASON_CHARS) -> str:
    """A message cut to ``limit`` characters (recorded rejection reasons)."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def train_window(start: date, end: date, today: date | None = None) -> None:
    """A plausible training window: ordered, from ``EARLIEST_TRAIN_DATE``, ending by tomorrow (UTC)."""
    latest = (today or datetime.now(UTC).date()) + timedelta(days=1)
    if start < EARLIEST_TRAIN_DATE:
        raise InvalidModel(f"train_start {start} is before {EARLIEST_TRAIN_DATE}: not a real training window")
    if end > latest:
        raise InvalidModel(f"train_end {end} is in the future (after {latest}): a card states its training data")
    if end < start:
        raise InvalidModel(f"train_end {end} is before train_start {start}")
