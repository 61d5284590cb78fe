"""Issue 14.3: registry notifications from the registry-change flow.

Promote, retire, enable, disable: each change posts one Slack message (who, what, why) to a
local Slack stand-in, exactly once however often its message is delivered; a batch from one
command posts one summary. Through the ``on_registry_change`` function (functions-framework's
own app) and through the embedded default's in-process bus (the path ``modelctl`` takes).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app

from common.announce import batched_changes
from common.app import open_registry, registration_service
from common.settings import Settings
from tests.support.events import post, pubsub_event
from tests.support.migrated import migrated_store
from tests.support.slack import SlackStub
from tests.support.tiny import tiny_card, tiny_model_bytes

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStub]:
    stub = SlackStub()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", stub.url)
    yield stub
    stub.close()


@pytest.fixture
def models(isolated_env: Path) -> list[str]:
    """Two registered (disabled) models on a migrated registry; registration itself is silent."""
    settings = Settings.from_env()
    migrated_store(settings.registry_url)
    service = registration_service(settings)
    ids = []
    for seed, card in enumerate((tiny_card("v9"), tiny_card("v12_noveg")), start=1):
        info = service.bucket.write(f"models/m{seed}.cbm", tiny_model_bytes(card, seed=seed))
        ids.append(service.register_object(info.name).record.model_id)
    return ids


def texts(slack: SlackStub) -> list[str]:
    return [p["text"] for p in slack.posts]


def test_each_change_through_the_cli_path_posts_one_message(slack: SlackStub, models: list[str]) -> None:
    a, b = models
    assert texts(slack) == []  # registrations are not announced to the team
    registry = open_registry(Settings.from_env())  # actor "pytest", the in-process bus
    registry.enable(a, reason="ready to shadow")
    registry.enable(b)
    registry.promote(a, reason="beat the old champion for 30 days")
    registry.promote(b, reason="better on 3+ edges", force=True)  # nothing graded: only by force
    registry.disable(a, reason="noisy")
    registry.retire(a, reason="superseded")
    sent = texts(slack)
    forced = f"Registry: *pytest* promoted `{b}` (replacing champion `{a}`) — forced past compare (keep watching: "
    assert sent[3].startswith(forced) and sent[3].endswith("): better on 3+ edges")  # the verdict it overrode
    assert sent[:3] + sent[4:] == [
        f"Registry: *pytest* enabled `{a}` — ready to shadow",
        f"Registry: *pytest* enabled `{b}` — no reason given",
        f"Registry: *pytest* promoted `{a}` — beat the old champion for 30 days",
        f"Registry: *pytest* disabled `{a}` — noisy",
        f"Registry: *pytest* retired `{a}` — superseded",
    ]


def test_a_burst_from_one_command_is_one_summary(slack: SlackStub, models: list[str]) -> None:
    a, b = models
    registry = open_registry(Settings.from_env())
    with batched_changes():  # what `modelctl retrain --all --enable` does around its runs
        registry.enable(a, reason="modelctl retrain --enable: gates passed")
        registry.enable(b, reason="modelctl retrain --enable: gates passed")
    assert texts(slack) == [
        "Registry: 2 changes by pytest\n"
        f"*pytest* enabled `{a}` — modelctl retrain --enable: gates passed\n"
        f"*pytest* enabled `{b}` — modelctl retrain --enable: gates passed"
    ]
    assert {m.model_id for m in registry.list(enabled=True)} == {a, b}


def test_the_function_posts_once_however_often_a_message_is_delivered(slack: SlackStub, models: list[str]) -> None:
    a, _ = models
    app = create_app("on_registry_change", str(ROOT / "functions/on_registry_change/main.py"), "cloudevent")
    client: Any = app.test_client()
    change = {"action": "retired", "model_ids": [a], "actor": "alice", "occurred_at": "2026-03-01T09:00:00+00:00",
              "reason": "leaked eval data"}  # fmt: skip
    resync = {"action": "resync", "model_ids": [a], "actor": "register_model", "occurred_at": "2026-03-01T09:00:01"}
    for payload in (change, change, resync, change):  # Pub/Sub delivers at least once
        assert post(client, pubsub_event("pubsub_registry_change.json", payload)).status_code == 200
    assert texts(slack) == [f"Registry: *alice* retired `{a}` — leaked eval data"]


def test_a_rejected_registration_posts_once(slack: SlackStub, models: list[str], isolated_env: Path) -> None:
    from common.errors import InvalidModel

    service = registration_service(Settings.from_env())
    info = service.bucket.write("models/broken.cbm", b"not a catboost model")
    for _ in range(2):  # a redelivered finalize event records and tells nothing new
        with pytest.raises(InvalidModel):
            service.register_object(info.name, info.generation, info.size)
    [rejection] = open_registry(Settings.from_env()).rejections()
    assert texts(slack) == [f"Registry: *pytest* could not register `{info.uri}` (rejected) — {rejection.reason}"]


def test_outside_text_cannot_page_the_channel_and_long_bursts_stay_within_slacks_limits() -> None:
    from common.alerts.registry_changes import message
    from common.events import RegistryChangeMessage
    from common.notify.blocks import SECTION_LIMIT

    hostile = RegistryChangeMessage("rejected", ("gs://b/<x>.cbm",), "eve", reason="<!channel> & co")
    text, [block] = message([hostile])
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; co" in text and "&lt;x&gt;" in text
    assert block["text"]["text"] == text
    burst = [RegistryChangeMessage("enabled", (f"model_{i:04d}",), "ci", reason="x" * 80) for i in range(200)]
    text, blocks = message(burst)
    assert text.startswith("Registry: 200 changes by ci")
    assert len(blocks[1]["text"]["text"]) <= SECTION_LIMIT  # Slack would refuse more, on every redelivery
