"""Publishing, behind one small interface chosen by ``EVENT_BUS_URL``.

* ``pubsub://PROJECT`` (production, and the emulator when PUBSUB_EMULATOR_HOST
  is set): google-cloud-pubsub.
* ``inprocess://`` (the embedded default): the message becomes the same
  ``messagePublished`` CloudEvent Eventarc would deliver and goes, in this
  process and under the publisher's settings, through ``run_event`` (the
  production contract, ``common/runner.py``) to the ``common/`` service of every
  function the inventory subscribes to its topic. A stale event is dropped and a
  permanent failure logged and acknowledged, as deployed; both are recorded in
  ``deliveries`` for the publisher to report. A retryable failure fails the
  publish: the publisher hears it, and its rerun is the redelivery.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from common import inventory
from common.backends import load_backend
from common.errors import AppError, ConfigError, InvalidArgument, TransientError
from common.eventarc import pubsub_cloud_event
from common.events import parse_pubsub_event
from common.runner import Delivery, deliver
from common.settings import Settings

log = logging.getLogger(__name__)

BUSES: dict[str, str] = {
    "inprocess": "common.eventbus:InProcessBus",
    "pubsub": "common.eventbus:PubSubBus",
}


class EventBus(Protocol):
    def publish(self, topic: str, payload: dict[str, Any], attributes: dict[str, str] | None = None) -> str: ...


def open_bus(settings: Settings) -> EventBus:
    """The bus for ``EVENT_BUS_URL`` (an unknown scheme fails with the valid ones)."""
    return load_backend(settings.event_bus_url, BUSES, "EVENT_BUS_URL", settings=settings)  # type: ignore[no-any-return]


class InProcessBus:
    """``inprocess://``: delivers each message to its topic's services in this process."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url
        self.settings = settings
        #: (function, delivery) of every delivery so far, for a publisher that reports them
        self.deliveries: list[tuple[str, Delivery]] = []

    def publish(self, topic: str, payload: dict[str, Any], attributes: dict[str, str] | None = None) -> str:
        event = pubsub_cloud_event(
            self.settings.gcp_project, topic, payload, attributes, subscription=f"{topic}-inprocess"
        )
        for fn in inventory.subscribers(topic):
            self.deliver(fn, event)
        return str(event["id"])

    def deliver(self, fn: inventory.Function, event: Any) -> Delivery:
        """Deliver ``event`` to ``fn``'s service as its deployed function would (``run_event``)."""
        service = inventory.load_service(fn)
        try:
            delivery = deliver(event, parse_pubsub_event, service, self.settings)
        except AppError as exc:
            # The same error (class and attributes: the caller's exit code / status still says what
            # went wrong), told where it happened.
            exc.message = f"delivering {fn.topic} to {fn.name} failed: {exc.message}"
            exc.args = (exc.message,)
            raise
        self.deliveries.append((fn.name, delivery))
        log.info("in-process %s → %s: %s", fn.topic, fn.name, delivery.outcome,
                 extra={"topic": fn.topic, "outcome": delivery.outcome})  # fmt: skip
        return delivery


class PubSubBus:
    """``pubsub://PROJECT``: google-cloud-pubsub's publisher (honours PUBSUB_EMULATOR_HOST)."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url
        self.project = url.split("://", 1)[1].strip("/") or settings.gcp_project
        self._publisher: Any = None

    def _client(self) -> Any:
        if self._publisher is None:
            from google.auth.exceptions import GoogleAuthError
            from google.cloud import pubsub_v1  # type: ignore[attr-defined]

            try:
                self._publisher = pubsub_v1.PublisherClient()
            except GoogleAuthError as exc:
                raise ConfigError(
                    f"EVENT_BUS_URL {self.url}: no Google credentials for Pub/Sub "
                    f"(`gcloud auth application-default login`, or PUBSUB_EMULATOR_HOST): {exc}"
                ) from None
        return self._publisher

    def publish(self, topic: str, payload: dict[str, Any], attributes: dict[str, str] | None = None) -> str:
        from google.api_core import exceptions as gexc
        from google.auth.exceptions import GoogleAuthError

        publisher = self._client()
        path = publisher.topic_path(self.project, topic)
        try:
            future = publisher.publish(path, json.dumps(payload).encode(), **(attributes or {}))
            return str(future.result(timeout=30))
        except gexc.NotFound as exc:
            raise ConfigError(f"topic {path} does not exist: create it (make deploy / make stack-up)") from exc
        except (gexc.PermissionDenied, gexc.Unauthenticated, GoogleAuthError) as exc:
            raise ConfigError(f"may not publish to {path} (check the service account's roles): {exc}") from exc
        except gexc.InvalidArgument as exc:
            raise InvalidArgument(f"Pub/Sub refused the message for {path}: {exc}") from exc
        except Exception as exc:  # the default branch: anything else the client raises may pass
            raise TransientError(f"publishing to {path} failed: {type(exc).__name__}: {exc}") from exc
