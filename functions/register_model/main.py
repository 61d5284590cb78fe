"""Cloud Function `register_model`.

GCS object finalize on the models bucket → a disabled registry row (or a recorded rejection).

Thin handler: the event is parsed into a typed object and handed to one service in
`common/`; `run_event` owns the retry contract (see common/runner.py).
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from common.events import parse_storage_event
from common.log import setup_logging
from common.runner import run_event
from common.services.register_model import on_object_finalized

setup_logging()  # JSON lines on stderr: Cloud Logging's structured format


@functions_framework.cloud_event
def register_model(cloud_event: CloudEvent) -> None:
    run_event(cloud_event, parse_storage_event, on_object_finalized)
