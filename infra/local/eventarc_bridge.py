"""Local stand-in for an Eventarc Cloud Storage trigger.

fake-gcs-server publishes Cloud Storage Pub/Sub notifications (attributes
``eventType``, ``bucketId``, ``objectId``, ``objectGeneration``,
``payloadFormat=JSON_API_V1``; data = the object resource JSON) to the Pub/Sub
emulator. A push subscription delivers them here, to ``POST /storage/<name>``,
and this bridge re-posts each ``OBJECT_FINALIZE`` notification to the function
registered as ``<name>`` as a binary-mode CloudEvent shaped like the ones
Eventarc delivers (built by ``common.events.storage_cloud_event``, sent with the
cloudevents SDK's ``to_binary``):

* ``ce-specversion: 1.0``, ``ce-type: google.cloud.storage.object.v1.finalized``
* ``ce-source: //storage.googleapis.com/projects/_/buckets/BUCKET``
* ``ce-subject: objects/NAME``, ``ce-id`` (the Pub/Sub message id),
  ``ce-time`` (the object's ``updated`` time), ``ce-bucket`` (Eventarc's
  ``bucket`` extension attribute)
* ``content-type: application/json``; body = the object resource
  (``bucket``, ``name``, ``generation``/``size``/``metageneration`` as strings,
  ``md5Hash``, ``crc32c``, ``contentType``, ``metadata``, ``timeCreated``,
  ``updated`` ...).

Other notification types are acknowledged (204) and dropped. The function's
answer decides the push outcome: 2xx -> 204 (ack); any other status is passed
back (5xx -> 5xx, so Pub/Sub redelivers); an unreachable function -> 503.

Run it as its own process::

    python -m infra.local.eventarc_bridge --port 8790 \\
        --route register_model=http://127.0.0.1:8791/
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

from cloudevents.conversion import to_binary
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from common.eventarc import storage_cloud_event

logger = logging.getLogger(__name__)

FORWARD_TIMEOUT_SECONDS = 600.0


class NotificationError(ValueError):
    """The push body is not a usable Cloud Storage notification."""


def _normalised_object(resource: Mapping[str, Any], attributes: Mapping[str, str]) -> dict[str, Any]:
    """The object resource as GCS's JSON API (and so Eventarc) spells it.

    fake-gcs-server omits a few fields real GCS always sends and uses its own
    ``id`` format (``bucket/name#generation``); this fills those in the real way.
    """
    data = dict(resource)
    bucket = str(data.setdefault("bucket", attributes.get("bucketId", "")))
    name = str(data.setdefault("name", attributes.get("objectId", "")))
    if not bucket or not name:
        raise NotificationError("notification names no bucket or object")
    generation = data.get("generation") or attributes.get("objectGeneration") or ""
    data["generation"] = str(generation)
    data["id"] = f"{bucket}/{name}/{data['generation']}"
    data.setdefault("kind", "storage#object")
    data["metageneration"] = str(data.get("metageneration") or "1")
    if "size" in data:
        data["size"] = str(data["size"])
    if "timeCreated" in data:
        data.setdefault("updated", data["timeCreated"])
        data.setdefault("timeStorageClassUpdated", data["timeCreated"])
    return data


def _decode_resource(message: Mapping[str, Any]) -> dict[str, Any]:
    """Decode the base64 JSON object resource carried by a notification."""
    try:
        resource = json.loads(base64.b64decode(message.get("data") or "", validate=True))
    except (binascii.Error, ValueError) as exc:
        raise NotificationError(f"notification data is not base64 JSON: {exc}") from exc
    if not isinstance(resource, dict):
        raise NotificationError("notification data is not a JSON object")
    return resource


def storage_cloudevent(push_body: Mapping[str, Any]) -> tuple[dict[str, str], bytes] | None:
    """Translate a Pub/Sub push body into Eventarc's binary CloudEvent (headers, body).

    Returns ``None`` for notifications other than ``OBJECT_FINALIZE``.
    Raises :class:`NotificationError` when the body is not a JSON_API_V1
    Cloud Storage notification.
    """
    message = push_body.get("message")
    if not isinstance(message, dict):
        raise NotificationError("push body has no 'message' object")
    attributes = message.get("attributes") or {}
    if attributes.get("eventType") != "OBJECT_FINALIZE":
        return None
    if attributes.get("payloadFormat") != "JSON_API_V1":
        raise NotificationError(f"payloadFormat must be JSON_API_V1, got {attributes.get('payloadFormat')!r}")
    data = _normalised_object(_decode_resource(message), attributes)
    event_time = data.get("updated") or attributes.get("eventTime") or message.get("publishTime") or None
    event_id = str(message.get("messageId") or message.get("message_id") or "") or None
    headers, body = to_binary(storage_cloud_event(data, event_id=event_id, time=event_time))
    return dict(headers), body


def forward(url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> int:
    """POST the CloudEvent to ``url``; return the HTTP status (503 if unreachable)."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        logger.warning("target %s unreachable: %s", url, exc)
        return 503


class EventarcBridge:
    """WSGI app: ``POST /storage/<function>`` (Pub/Sub push) and ``GET /healthz``."""

    def __init__(self, routes: Mapping[str, str], timeout: float = FORWARD_TIMEOUT_SECONDS) -> None:
        self.routes = dict(routes)
        self.timeout = timeout

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Route one request."""
        if request.path == "/healthz":
            return Response("ok", status=200)
        prefix = "/storage/"
        if request.method != "POST" or not request.path.startswith(prefix):
            return Response("not found", status=404)
        name = request.path[len(prefix) :].strip("/")
        target = self.routes.get(name)
        if target is None:
            logger.error("no route for function %r (known: %s)", name, sorted(self.routes))
            return Response(f"unknown function {name!r}", status=404)
        return self._deliver(name, target, request)

    def _deliver(self, name: str, target: str, request: Request) -> Response:
        try:
            push_body = json.loads(request.get_data() or b"null")
            event = storage_cloudevent(push_body if isinstance(push_body, dict) else {})
        except (ValueError, NotificationError) as exc:
            logger.error("rejecting push for %s: %s", name, exc)
            return Response(str(exc), status=400)
        if event is None:
            attributes = (push_body.get("message") or {}).get("attributes") or {}
            logger.info("dropping %s notification for %s", attributes.get("eventType"), name)
            return Response(status=204)
        headers, body = event
        status = forward(target, headers, body, self.timeout)
        logger.info("%s %s -> %s: HTTP %s", headers["ce-id"], headers["ce-subject"], name, status)
        if 200 <= status < 300:
            return Response(status=204)
        return Response(f"target answered HTTP {status}", status=status)


def _parse_routes(items: Iterable[str]) -> dict[str, str]:
    routes: dict[str, str] = {}
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise SystemExit(f"--route must be NAME=URL, got {item!r}")
        routes[name] = url
    return routes


def main(argv: list[str] | None = None) -> None:
    """CLI entry: serve the bridge until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--route", action="append", default=[], help="NAME=URL of a function")
    parser.add_argument("--timeout", type=float, default=FORWARD_TIMEOUT_SECONDS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = EventarcBridge(_parse_routes(args.route), timeout=args.timeout)
    logger.info("eventarc bridge on %s:%s routes=%s", args.host, args.port, app.routes)
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()
