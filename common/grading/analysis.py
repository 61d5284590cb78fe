"""Reading graded results back: model comparisons, side-by-side performance, the promotion guard.

Comparisons only use out-of-sample dates: a date on or before either model's
training end is left out, so a model never gets credit for games it was trained on.
The verdict's monitoring sequence is every such date the two models share, from the
first: the nightly advice and ``promote`` always read all of it (a sliding window
would restart the sequence, and its guarantee with it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from common.betting import DEFAULT_BET_PRICE
from common.errors import InvalidArgument, NotFound
from common.grading.catalog import Catalog
from common.grading.compare import Comparison, VerdictRule, compare_pairs
from common.grading.figures import Figures, window_figures
from common.grading.store import GradingStore

log = logging.getLogger(__name__)
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Performance:
    """Every active model's figures over the same window."""

    start: date | None
    end: date | None
    figures: tuple[tuple[str, str, Figures | None], ...]  # (model_id, role, figures or None)


def _champion_id(catalog: Catalog, champion: str | None) -> str:
    if champion:
        return champion
    current = catalog.champion
    if current is None:
        raise NotFound("there is no champion to compare with; pass --vs MODEL_ID")
    return current.model_id


def paired_sample(
    store: GradingStore,
    catalog: Catalog,
    challenger: str,
    champion: str | None = None,
    days: int | None = None,
    bet_price: float = DEFAULT_BET_PRICE,
) -> tuple[pd.DataFrame, str, date | None, date | None]:
    """The paired rows of the graded days both models share after both training ends — the last
    ``days`` of them, or all when None: (pairs, champion id, start, end)."""
    if days is not None and days < 1:
        raise InvalidArgument(f"--days must be at least 1, got {days}")
    for model_id in (challenger, champion):
        if model_id is not None and catalog.get(model_id) is None:
            raise NotFound(f"no model {model_id!r} in the registry (see `modelctl list`)")
    champion_id = _champion_id(catalog, champion)
    if champion_id == challenger:
        raise InvalidArgument(f"{challenger} is the champion; compare it with another model (--vs MODEL_ID)")
    after = catalog.in_sample_until([challenger, champion_id])
    pairs = store.paired(challenger, champion_id, after, days, bet_price)
    return (pairs, champion_id, *_span(pairs, days))


def _span(pairs: pd.DataFrame, days: int | None) -> tuple[date | None, date | None]:
    """The first and last date of a paired sample (of its last ``days`` when given)."""
    if pairs.empty:
        return None, None
    end = max(pairs["game_date"])
    start = min(pairs["game_date"]) if days is None else max(min(pairs["game_date"]), end - timedelta(days=days - 1))
    return start, end


def compare_models(
    store: GradingStore,
    catalog: Catalog,
    challenger: str,
    champion: str | None = None,
    days: int | None = None,
    rule: VerdictRule | None = None,
) -> Comparison:
    """Compare ``challenger`` with ``champion`` (default: the current champion) over the graded days
    they share after both models' training ends (the last ``days`` of them when given: a fixed
    window read once), on the challenger's family's objective at its share of the champion's budget."""
    rule = rule or VerdictRule()
    pairs, champion_id, start, end = paired_sample(store, catalog, challenger, champion, days, rule.bet_price)
    clv = store.daily_clv(challenger, champion_id, catalog.in_sample_until([challenger, champion_id]))
    return compare_pairs(
        pairs, challenger, champion_id, start, end, rule,
        objective=catalog.objective(challenger), rank=catalog.challenger_rank(challenger), clv_daily=clv, window=days,
    )  # fmt: skip


def compare_all(store: GradingStore, catalog: Catalog, rule: VerdictRule | None = None) -> dict[str, Comparison]:
    """``compare_models(store, catalog, c, None, None, rule)`` for every enabled challenger c of the
    current champion, in two reads whatever their number (``PAIRED_MANY``, ``DAILY_CLV_PAIRS_MANY``):
    the same samples, so the same verdicts as ``modelctl compare``. Empty without a champion."""
    rule, champion = rule or VerdictRule(), catalog.champion
    if champion is None:
        return {}
    ids = [m.model_id for m in catalog.models if m.serves and m.model_id != champion.model_id]
    afters = {c: catalog.in_sample_until([c, champion.model_id]) for c in ids}
    pairs = store.paired_many(afters, champion.model_id, rule.bet_price)
    clv = store.daily_clv_many(afters, champion.model_id)
    return {
        c: compare_pairs(
            pairs[c],
            c,
            champion.model_id,
            *_span(pairs[c], None),
            rule,
            objective=catalog.objective(c),
            rank=catalog.challenger_rank(c),
            clv_daily=clv[c],
            window=None,
        )  # fmt: skip
        for c in ids
    }


def performance(store: GradingStore, catalog: Catalog, days: int = DEFAULT_DAYS) -> Performance:
    """Every active model's out-of-sample figures over the last ``days`` up to the latest graded date."""
    if days < 1:
        raise InvalidArgument(f"--days must be at least 1, got {days}")
    end, daily = store.recent_daily(days)
    active = sorted(catalog.active, key=lambda m: (not m.is_champion, m.model_id))
    if end is None:
        return Performance(None, None, tuple((m.model_id, m.status, None) for m in active))
    start = end - timedelta(days=days - 1)
    figures = window_figures(daily, start, end)
    return Performance(start, end, tuple((m.model_id, m.status, figures.get(m.model_id)) for m in active))


def promotion_check(
    store: GradingStore, catalog: Catalog, model_id: str, rule: VerdictRule | None = None
) -> Comparison | None:
    """The comparison ``modelctl promote`` must respect, on the whole monitoring sequence; None when
    there is nothing to compare (no champion yet, the model is the champion, or it cannot be promoted)."""
    record, champion = catalog.get(model_id), catalog.champion
    if record is None or champion is None or record.model_id == champion.model_id or not record.serves:
        return None
    return compare_models(store, catalog, model_id, champion.model_id, None, rule)
