"""``update_performance``: a graded-games message → those dates graded, the daily figures and the
registry's live evaluation refreshed, promotion advice posted when earned.

Grading itself is ``common/grading/service.py``'s (``grade_dates``, ``advise_promotions``); the message's contract is
``common/events.py``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime

from common import inventory
from common.events import PubSubMessage, parse_graded_games
from common.grading.advice import advise_promotions
from common.grading.catalog import load_catalog
from common.grading.compare import VerdictRule
from common.grading.service import GradingSummary, grade_dates
from common.grading.store import GradingStore
from common.notify import SlackPoster
from common.runtime import runtime_for
from common.settings import Settings
from common.sql import engine_session

log = logging.getLogger(__name__)


def on_graded_games(msg: PubSubMessage, settings: Settings) -> str:
    """The ``update_performance`` function's service: one graded-games message (``common/events.py``
    holds the contract; the nightly job's time zone comes from the inventory)."""
    graded = parse_graded_games(msg, inventory.schedule(inventory.GRADED_GAMES).time_zone)
    log.info(
        "graded-games from %s: %s",
        graded.origin,
        ", ".join(map(str, graded.game_dates)),
        extra={"origin": graded.origin, "scheduled": graded.scheduled, "message_id": graded.message_id},
    )
    summary, advice = update_performance(settings, graded.game_dates)
    return summary.describe() + (f"; promotion advice: {', '.join(advice)}" if advice else "")


def update_performance(
    settings: Settings, dates: Sequence[date], now: datetime | None = None, advise: bool = True
) -> tuple[GradingSummary, list[str]]:
    """Grade ``dates`` on the registry's database, then post promotion advice (unless ``advise`` is off).

    Returns the summary and one outcome per advice posted.
    """
    now = now or datetime.now(UTC)
    rule = VerdictRule.from_settings(settings)
    # the grading on one registry connection (DuckDB: not one per query); none held while Slack is posted to
    with engine_session(settings.registry_url):
        registry = runtime_for(settings).registry(announce=False)  # ConfigError: waits for `migrate`
        catalog = load_catalog(registry.list, registry.objectives)
        store = GradingStore(runtime_for(settings).engine())
        summary = grade_dates(store, catalog, dates, now, rule.bet_price)
    poster = SlackPoster.from_settings(settings)
    advice = advise_promotions(store, catalog, poster, now, rule) if advise else []
    return summary, advice
