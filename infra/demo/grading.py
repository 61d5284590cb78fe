"""For ``make demo``: grade a range of game dates and print the champion-vs-challenger comparison."""

from __future__ import annotations

from datetime import date

from common.grading.compare import Comparison
from common.settings import Settings


def grade_range_and_compare(
    settings: Settings,
    first: date,
    last: date,
    challenger: str,
    champion: str | None = None,
    days: int | None = None,
    predict: bool = False,
) -> Comparison:
    """Grade ``first..last`` (inclusive) as ``update_performance`` would, print what was graded
    and ``modelctl compare CHALLENGER [--vs CHAMPION] [--days N]`` (the sequential verdict, its
    ROI beside MAE, and the rule with the margins of ``settings``); return the comparison.

    With ``predict`` the dates' slates are scored first by the served models (``modelctl
    predict`` for each date), for a demo that starts without predictions. Needs a migrated
    registry with season data; promotion advice goes to Slack or the log as usual.
    """
    from common.cli import render
    from common.cli.grading_cmds import date_range, open_grading, print_comparison
    from common.grading.analysis import compare_models
    from common.grading.compare import VerdictRule
    from common.grading.service import update_performance

    dates = date_range(first, last)
    if predict:
        _predict(settings, dates)
    summary, advice = update_performance(settings, dates)
    render.console.print(summary.describe())
    for line in advice:
        render.console.print(f"promotion advice → {line}")
    store, catalog = open_grading(settings)
    comparison = compare_models(store, catalog, challenger, champion, days, VerdictRule.from_settings(settings))
    print_comparison(comparison)
    return comparison


def _predict(settings: Settings, dates: list[date]) -> None:
    from common.errors import NotFound
    from common.worker.worker import Worker

    worker = Worker(settings, worker_id="demo-grading")
    worker.reload()
    for day in dates:
        try:
            worker.predict_date(day)
        except NotFound:  # no games that day (All-Star break, holidays)
            continue
