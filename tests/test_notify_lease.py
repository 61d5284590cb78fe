"""Issue 11.2: a reminder whose process is killed mid-post is delivered later, exactly once.

A real ``retrain_reminder`` process (functions-framework) posts to a Slack stand-in that
hangs; the test ``kill -9``s it mid-post. The claim it left behind is a lease: a
redelivery while it is live answers 500 (the platform retries later, nothing is
swallowed); once it has run out, the next delivery takes it over and posts; after
that, deliveries are duplicates.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent

from common.notify.store import NotificationStore
from tests.support.events import pubsub_event
from tests.support.fnproc import FunctionProcess
from tests.support.migrated import migrated_store
from tests.support.slack import HANG, SlackStub

LEASE_SECONDS = 6  # covers the redelivery right after the kill (well under a second) on a busy machine
DAY = "2026-03-05"
KEY = f"retrain_reminder:{DAY}"


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    stub = SlackStub(script=[(HANG, {})])  # the first post never gets an answer
    yield stub
    stub.close()


@pytest.fixture
def env(tmp_path: Path, slack: SlackStub) -> dict[str, str]:
    registry_url = f"duckdb://{tmp_path / 'registry.duckdb'}"
    migrated_store(registry_url)
    return {
        "MODEL_REGISTRY_URL": registry_url,
        "MODEL_BUCKET_URL": f"file://{tmp_path / 'bucket'}",
        "SLACK_WEBHOOK_URL": slack.url,
        "SLACK_TIMEOUT_SECONDS": "120",  # the hung post would wait this long: it is killed first
        "NOTIFY_LEASE_SECONDS": str(LEASE_SECONDS),
        "MODELCTL_ACTOR": "retrain_reminder",
    }


def test_a_reminder_killed_mid_post_is_sent_once_after_its_lease(
    env: dict[str, str], slack: SlackStub, tmp_path: Path
) -> None:
    event = pubsub_event("pubsub_scheduler_reminder.json", {"date": DAY})
    first = FunctionProcess.start("retrain_reminder", env, tmp_path)
    second = FunctionProcess.start("retrain_reminder", env, tmp_path)  # the instance redeliveries reach
    try:
        threading.Thread(target=_deliver_ignoring_the_kill, args=(first, event), daemon=True).start()
        slack.wait_for_requests(1)  # the first process is posting, and Slack hangs
        first.kill9()
        store = NotificationStore.open(env["MODEL_REGISTRY_URL"])
        claim = store.get(KEY)
        assert claim is not None and claim.status == "claimed" and claim.live_at(datetime.now(UTC))

        # Redelivered while the dead process's lease is live: 500, so the platform retries later.
        assert second.deliver(event) == 500
        assert len(slack.requests) == 1
        assert "retry later" in second.output() and "being delivered by" in second.output()

        _sleep_until(claim.lease_expires_at)
        assert second.deliver(event) == 200  # the expired lease is taken over: posted now
        assert second.deliver(event) == 200  # and from then on a duplicate
    finally:
        first.stop()
        second.stop()
    assert len(slack.posts) == 1 and f"Retrain reminder {DAY}" in slack.posts[0]["text"]
    assert len(slack.requests) == 2  # the hung one and the one that was answered
    done = store.get(KEY)
    assert done is not None and done.sent and done.attempts == 2
    assert "taking it over" in second.output()


def _deliver_ignoring_the_kill(fn: FunctionProcess, event: CloudEvent) -> None:
    with contextlib.suppress(OSError):  # the connection dies with the process
        fn.deliver(event)


def _sleep_until(stamp: datetime) -> None:
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    time.sleep(max(0.0, (stamp - datetime.now(UTC)).total_seconds()) + 0.2)
