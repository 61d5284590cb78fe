"""Cloud Function `retrain_reminder`.

Nightly Cloud Scheduler message (Pub/Sub) → the per-family retrain reminder on Slack.

Thin handler: the event is parsed into a typed object and handed to one service in
`common/`; `run_event` owns the retry contract (see common/runner.py).
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from common.events import parse_pubsub_event
from common.log import setup_logging
from common.runner import run_event
from common.services.retrain_reminder import on_retrain_reminder

setup_logging()  # JSON lines on stderr: Cloud Logging's structured format


@functions_framework.cloud_event
def retrain_reminder(cloud_event: CloudEvent) -> None:
    run_event(cloud_event, parse_pubsub_event, on_retrain_reminder)
