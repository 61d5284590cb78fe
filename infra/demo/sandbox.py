"""The demo's sandbox: its own registry, bucket, cache and bus, whatever the environment says.

``make demo`` must be safe to run from a shell with the README's production exports
set: every variable that could point it elsewhere is overridden in this process
(the demo runs ``modelctl`` in-process, so the overrides reach every command) and
Slack is switched off (messages go to the log). Only ``.local/demo/`` is reset,
and the demo says so before touching it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from common.settings import LOCAL_DIR, SLACK_WEBHOOK_URL

DEMO_DIR = LOCAL_DIR / "demo"
#: what the demo never inherits from the caller's environment
NEUTRALISED = (SLACK_WEBHOOK_URL, "PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")


@dataclass(frozen=True)
class Sandbox:
    root: Path

    @property
    def registry_url(self) -> str:
        return f"duckdb://{self.root / 'registry.duckdb'}"

    @property
    def bucket_dir(self) -> Path:
        return self.root / "bucket"

    @property
    def environment(self) -> dict[str, str]:
        return {
            "MODEL_REGISTRY_URL": self.registry_url,
            "MODEL_BUCKET_URL": f"file://{self.bucket_dir}",
            "MODEL_CACHE_DIR": str(self.root / "cache" / "models"),
            "EVENT_BUS_URL": "inprocess://",
            "MODELCTL_ACTOR": "demo",
        }

    def describe(self, inherited: dict[str, str]) -> list[str]:
        """What the demo will reset and which of the caller's settings it ignores."""
        lines = [f"The demo resets {self.root} (registry, bucket, model cache) and works only there."]
        ignored = [name for name in (*self.environment, *NEUTRALISED) if inherited.get(name)]
        if ignored:
            lines.append(f"Ignoring from your environment: {', '.join(sorted(ignored))} (Slack messages are logged).")
        return lines

    def enter(self) -> None:
        """Reset the sandbox folder and point this process at it."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        for name in NEUTRALISED:
            os.environ.pop(name, None)
        os.environ.update(self.environment)
