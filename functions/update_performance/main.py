"""Cloud Function `update_performance`.

A message on the graded-games topic (Pub/Sub) names the game date(s) whose results are
final → every prediction of those dates is graded, per-model daily figures and the
registry's live evaluation are refreshed, and promotion advice is posted when earned.

Thin handler: the event is parsed into a typed object and handed to one service in
`common/`; `run_event` owns the retry contract (see common/runner.py).
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from common.events import parse_pubsub_event
from common.log import setup_logging
from common.runner import run_event
from common.services.update_performance import on_graded_games

setup_logging()  # JSON lines on stderr: Cloud Logging's structured format


@functions_framework.cloud_event
def update_performance(cloud_event: CloudEvent) -> None:
    run_event(cloud_event, parse_pubsub_event, on_graded_games)
