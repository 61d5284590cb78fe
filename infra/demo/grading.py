"""For ``make demo``: score a range of game dates, then let the graded-games message grade them."""

from __future__ import annotations

from datetime import date

from common.grading.compare import Comparison
from common.settings import Settings


def predict_range(settings: Settings, dates: list[date]) -> None:
    """Score each date's slate with the served models, as the prediction worker does nightly."""
    from common.errors import NotFound
    from common.sql import engine_session
    from common.worker.worker import Worker

    worker = Worker(settings, worker_id="demo-grading")
    worker.reload()
    for day in dates:
        try:
            with engine_session(settings.registry_url):  # one registry connection per request, as the worker's
                worker.predict_date(day)
        except NotFound:  # no games that day (All-Star break, holidays)
            continue


def verdict(settings: Settings, challenger: str) -> Comparison:
    """The comparison ``modelctl compare CHALLENGER`` just printed (the same evidence ``promote`` uses)."""
    from common.cli.grading_cmds import open_grading
    from common.grading.analysis import compare_models
    from common.grading.compare import VerdictRule

    store, catalog = open_grading(settings)
    return compare_models(store, catalog, challenger, None, None, VerdictRule.from_settings(settings))
