"""``update_performance``: a graded-games message → those dates graded, the daily figures and the
registry's live evaluation refreshed, promotion advice posted when earned.

Grading is ``common/grading/service.py``'s (:func:`update_performance`); the message's contract is
``common/events.py``'s.
"""

from __future__ import annotations

import logging

from common import inventory
from common.events import PubSubMessage, parse_graded_games
from common.grading.service import update_performance
from common.settings import Settings

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
