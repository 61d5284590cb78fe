"""Typed ``modelctl`` option values, checked when the command line is parsed.

Every option that takes a date, a count or an id names its type here, so a bad
value ends in argparse's one-line usage error (exit 2) before any work starts,
the same way for every command.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import date, datetime, timedelta

from common.errors import AppError, InvalidArgument
from common.events import MAX_GRADED_DATES
from common.registry.naming import check_model_id, parse_family


def iso_date(value: str) -> date:
    """``YYYY-MM-DD`` (a real calendar day)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def moment(value: str) -> datetime:
    """An ISO timestamp (``2026-01-15T21:00:00Z``; without an offset, UTC)."""
    from common.features.market import parse_moment  # pandas: only when the option is given

    try:
        return parse_moment(value)
    except AppError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bounded_int(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if number < minimum or (maximum is not None and number > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(f"must be at least {minimum}{upper}, got {number}")
        return number

    parse.__name__ = "whole number"
    return parse


def positive_float(value: str) -> float:
    """A finite number above zero."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return number


def _checked(check: Callable[[str], object]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        try:
            check(value)
        except AppError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value

    return parse


#: the most days one command looks back over or grades at once
MAX_DAYS = 400

positive_int = _bounded_int(1)
non_negative_int = _bounded_int(0)
limit = _bounded_int(1, 10_000)
days = _bounded_int(1, MAX_DAYS)
model_id = _checked(check_model_id)
family = _checked(parse_family)
port = _bounded_int(1, 65_535)


def date_range(first: date, last: date, first_option: str = "--date") -> list[date]:
    """Every day from ``first`` to ``last``, both included: at most MAX_GRADED_DATES of them, in order
    (``InvalidArgument``, exit 2, naming the options otherwise)."""
    if last < first:
        raise InvalidArgument(f"--to {last} is before {first_option} {first}")
    if (last - first).days >= MAX_GRADED_DATES:
        raise InvalidArgument(f"at most {MAX_GRADED_DATES} dates per run, got {(last - first).days + 1}")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
