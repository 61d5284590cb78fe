"""Publishing, behind one small interface chosen by ``EVENT_BUS_URL``.

* ``pubsub://PROJECT`` (production, and the emulator when PUBSUB_EMULATOR_HOST
  is set): google-cloud-pubsub.
* ``inprocess://`` (the embedded default): the message is wrapped in the same
  ``messagePublished`` CloudEvent Eventarc would deliver and handed straight to
  the subscribed function in this process.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from common.errors import ConfigError, TransientError
from common.events import PUBSUB_PUBLISHED

log = logging.getLogger(__name__)
FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"

# topic → the function (folder, target) that the embedded default delivers to
INPROCESS_SUBSCRIPTIONS: dict[str, tuple[str, str]] = {
    "registry-change": ("on_registry_change", "on_registry_change"),
}


class EventBus(Protocol):
    def publish(self, topic: str, payload: dict[str, Any], attributes: dict[str, str] | None = None) -> str: ...


def pubsub_cloud_event(topic_path: str, payload: dict[str, Any], attributes: dict[str, str], message_id: str) -> Any:
    """The CloudEvent Eventarc delivers for a Pub/Sub message."""
    from cloudevents.http import CloudEvent

    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    data = {
        "message": {
            "data": base64.b64encode(json.dumps(payload).encode()).decode(),
            "attributes": attributes,
            "messageId": message_id,
            "publishTime": now,
        },
        "subscription": f"{topic_path.replace('/topics/', '/subscriptions/')}-inprocess",
    }
    attrs = {
        "type": PUBSUB_PUBLISHED,
        "source": f"//pubsub.googleapis.com/{topic_path}",
        "id": message_id,
        "time": now,
        "datacontenttype": "application/json",
    }
    return CloudEvent(attrs, data)


@functools.cache
def load_function(folder: str, target: str) -> Callable[[Any], Any]:
    """Import ``functions/<folder>/main.py`` the way functions-framework does."""
    path = FUNCTIONS_DIR / folder / "main.py"
    spec = importlib.util.spec_from_file_location(f"functions_{folder}_main", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load function source {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, target)  # type: ignore[no-any-return]


class InProcessBus:
    """Delivers to functions in this process; a failing subscriber is logged, not raised."""

    def __init__(self, project: str = "local-project", subscriptions: dict[str, tuple[str, str]] | None = None):
        self.project = project
        self.subscriptions = INPROCESS_SUBSCRIPTIONS if subscriptions is None else subscriptions
        self.delivered: list[tuple[str, dict[str, Any]]] = []

    def publish(self, topic: str, payload: dict[str, Any], attributes: dict[str, str] | None = None) -> str:
        message_id = uuid.uuid4().hex
        self.delivered.append((topic, payload))
        target = self.subscriptions.get(topic)
        if target is None:
            return message_id
        event = pubsub_cloud_event(f"projects/{self.project}/topics/{topic}", payload, attributes or {}, message_id)
        try:
            load_function(*target)(event)
        except Exception:  # in-process delivery must never break the caller's committed change
            log.exception("in-process delivery of %s to %s failed", topic, target[1], extra={"topic": topic})
        return message_id


class PubSubBus:
    """google-cloud-pubsub publisher (honours PUBSUB_EMULATOR_HOST)."""

    def __init__(self, project: str) -> None:
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]

        self.project = project
        self._publisher = pubsub_v1.PublisherClient()

    def publish(self, topic: str, payload: dict[str, Any], attributes: dict[str, str] | None = None) -> str:
        from google.api_core import exceptions as gexc

        path = self._publisher.topic_path(self.project, topic)
        try:
            future = self._publisher.publish(path, json.dumps(payload).encode(), **(attributes or {}))
            return str(future.result(timeout=30))
        except gexc.NotFound as exc:
            raise ConfigError(f"topic {path} does not exist: create it (make deploy / make stack-up)") from exc
        except (gexc.GoogleAPICallError, TimeoutError) as exc:
            raise TransientError(f"publishing to {path} failed: {exc}") from exc


def open_bus(url: str, project: str) -> EventBus:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "inprocess":
        return InProcessBus(project)
    if scheme == "pubsub":
        return PubSubBus(url.split("://", 1)[1].strip("/") or project)
    if scheme == "none":
        return InProcessBus(project, subscriptions={})
    raise ConfigError(f"EVENT_BUS_URL {url!r} has an unknown scheme; valid schemes: inprocess://, none://, pubsub://")
