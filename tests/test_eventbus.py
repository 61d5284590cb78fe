"""The event bus: backends chosen by URL through the one scheme map; the in-process bus runs the
inventory's services under the publisher's settings and fails loudly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from common.errors import ConfigError
from common.eventbus import InProcessBus, PubSubBus, open_bus
from common.manifest import MANIFEST_OBJECT, Manifest
from common.settings import Settings
from tests.support.tiny import tiny_card, tiny_model_bytes
from tests.test_cli import run


def test_bus_url_goes_through_the_backend_map() -> None:
    assert isinstance(open_bus(Settings(event_bus_url="inprocess://")), InProcessBus)
    bus = open_bus(Settings(event_bus_url="pubsub://my-project"))
    assert isinstance(bus, PubSubBus) and bus.project == "my-project"
    with pytest.raises(
        ConfigError, match=r"EVENT_BUS_URL 'kafka://x' has an unknown scheme; valid schemes: inprocess://, pubsub://"
    ):
        open_bus(Settings(event_bus_url="kafka://x"))


def _registered(tmp_path: Path, env: dict[str, str]) -> str:
    model = tmp_path / "m.cbm"
    model.write_bytes(tiny_model_bytes(tiny_card("v9"), seed=21))
    assert run("migrate", env=env).returncode == 0
    out = run("register", str(model), "--json", env=env)
    assert out.returncode == 0, out.stderr
    return str(json.loads(out.stdout)["model"]["model_id"])


def test_inprocess_delivery_uses_the_publishers_settings(tmp_path: Path) -> None:
    """`--registry-url` and `--bucket-url` reach on_registry_change: the manifest is built from the
    registry the command changed, not from whatever MODEL_REGISTRY_URL says."""
    real_registry, real_bucket = f"duckdb://{tmp_path / 'real.duckdb'}", tmp_path / "real-bucket"
    flags = ["--registry-url", real_registry, "--bucket-url", f"file://{real_bucket}"]
    env = {**os.environ, "MODEL_REGISTRY_URL": f"duckdb://{tmp_path / 'elsewhere' / 'x.duckdb'}"}
    model_id = _registered(
        tmp_path, {**env, "MODEL_REGISTRY_URL": real_registry, "MODEL_BUCKET_URL": f"file://{real_bucket}"}
    )
    out = run(*flags, "enable", model_id, env=env)
    assert out.returncode == 0, out.stderr
    manifest = Manifest.from_json((real_bucket / MANIFEST_OBJECT).read_bytes())
    assert [m.model_id for m in manifest.models] == [model_id]
    assert not (tmp_path / "elsewhere").exists()


def test_a_failing_subscriber_fails_the_command_loudly(tmp_path: Path) -> None:
    env = dict(os.environ)
    model_id = _registered(tmp_path, env)
    bucket = Path(env["MODEL_BUCKET_URL"].removeprefix("file://"))
    (bucket / MANIFEST_OBJECT).write_text("{not json")  # on_registry_change cannot read the current manifest
    out = run("enable", model_id, env=env)
    assert out.returncode == 2, out.stdout
    assert "delivering registry-change to on_registry_change failed" in out.stderr
    assert "serving manifest is malformed" in out.stderr and out.stderr.strip().count("\n") == 0
    shown = json.loads(run("show", model_id, "--json", env=env).stdout)
    assert shown["enabled"] is True  # the change itself was committed; the error says what did not follow
