"""Backends chosen by URL scheme, imported only when used (cold starts stay cheap)."""

from __future__ import annotations

import importlib
from typing import Any

from common.errors import ConfigError


def load_backend(url: str, schemes: dict[str, str], setting: str, **options: Any) -> Any:
    """Instantiate ``schemes[scheme]`` (``"module:Class"``) with ``url`` (and ``options``).

    The one map from URL scheme to backend: engines (``MODEL_REGISTRY_URL``), buckets
    (``MODEL_BUCKET_URL``) and event buses (``EVENT_BUS_URL``) all go through it. An
    unknown scheme fails naming the setting and the valid schemes.
    """
    scheme = url.split("://", 1)[0] if "://" in url else ""
    target = schemes.get(scheme)
    if target is None:
        valid = ", ".join(f"{s}://" for s in sorted(schemes))
        raise ConfigError(f"{setting} {url!r} has an unknown scheme; valid schemes: {valid}")
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)(url, **options)
