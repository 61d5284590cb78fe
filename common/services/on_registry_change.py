"""``on_registry_change``: a registry-change message → a rebuilt serving manifest, then the team told.

The manifest rule is ``common/manifest.py``'s; the notification is ``common/alerts/registry_changes.py``'s.
"""

from __future__ import annotations

from common.alerts.registry_changes import notify_registry_change
from common.app import open_registry
from common.errors import AppError, ServingBehind
from common.events import PubSubMessage, RegistryChangeMessage, parse_registry_change
from common.log import bind
from common.manifest import publish_manifest
from common.runtime import runtime_for
from common.settings import Settings

#: changes that cannot alter what is served: no manifest rebuild (a rejection writes nothing to the bucket)
NOT_SERVING = ("rejected",)


def handle_registry_change(msg: PubSubMessage, settings: Settings) -> str:
    """The ``on_registry_change`` service: rebuild the serving manifest, then tell the team."""
    change = parse_registry_change(msg)
    if change.model_ids:
        bind(model_id=change.model_ids[-1])
    serving = change.action not in NOT_SERVING
    outcome = rebuild_manifest(change, settings) if serving else "manifest untouched (a rejection)"
    return f"{outcome}; notification: {notify_registry_change(change, settings)}"


def rebuild_manifest(change: RegistryChangeMessage, settings: Settings) -> str:
    """Rebuild the serving manifest from the registry.

    Whatever stops it (a read-only or unreachable bucket, a busy registry) is ``ServingBehind``:
    retryable when its cause is, so Pub/Sub redelivers, and the publishing command reports
    its committed change as not served yet.
    """
    reason = change.action
    try:
        registry = open_registry(settings)
        version = registry.version()  # before the list: the manifest never claims a state it lacks
        bucket = runtime_for(settings).bucket()
        manifest, changed = publish_manifest(registry.list(), bucket, reason, version, holds=registry.holds)
    except (AppError, OSError) as exc:
        raise ServingBehind.rebuilding(exc) from exc
    state = "written" if changed else "unchanged"
    return (
        f"manifest {state}: generation {manifest.generation}, {len(manifest.models)} models, "
        f"registry version {manifest.registry_version}"
    )
