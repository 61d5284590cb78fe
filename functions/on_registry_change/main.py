"""Cloud Function `on_registry_change`.

Registry-change message (Pub/Sub) → a new serving manifest that every worker reads, and a
Slack note of who changed what and why.

Thin handler: the event is parsed into a typed object and handed to one service in
`common/`; `run_event` owns the retry contract (see common/runner.py).
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from common.events import parse_pubsub_event
from common.log import setup_logging
from common.runner import run_event
from common.services.on_registry_change import handle_registry_change

setup_logging()  # JSON lines on stderr: Cloud Logging's structured format


@functions_framework.cloud_event
def on_registry_change(cloud_event: CloudEvent) -> None:
    run_event(cloud_event, parse_pubsub_event, handle_registry_change)
