"""Once-per-key delivery (a lease per key) on both engines, and Slack delivery through slack-sdk.

The store contract runs on DuckDB and on the BigQuery emulator. The poster talks to a
local Slack stand-in over real HTTP: 5xx and connection errors are retried with backoff,
a 429's Retry-After is honoured, and nothing sleeps after the last attempt.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from common.errors import ConfigError, TransientError
from common.notify import SlackPoster, deliver_once
from common.notify.slack import MAX_RETRY_AFTER_SECONDS
from common.notify.store import NotificationStore
from common.registry.store import RegistryStore
from infra.local.processes import free_port
from tests.support.slack import HANG, SlackStub

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


# -- the lease, on every engine ----------------------------------------------------------------
class Sender:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self) -> str:
        self.calls += 1
        if self.fail:
            raise TransientError("Slack is down")
        return "slack"


def test_a_key_is_sent_once(store: RegistryStore) -> None:
    send = Sender()
    assert deliver_once(store.engine, "k", "kind", {"a": 1}, send, T0, LEASE) == "sent:slack"
    assert deliver_once(store.engine, "k", "kind", {"a": 1}, send, T0 + timedelta(days=1), LEASE) == "duplicate"
    assert send.calls == 1
    row = NotificationStore(store.engine).get("k")
    assert row is not None and row.sent and row.attempts == 1 and row.payload == '{"a": 1}'


def test_a_live_claim_by_someone_else_is_retried_later_and_an_expired_one_is_taken_over(
    store: RegistryStore,
) -> None:
    notes = NotificationStore(store.engine)
    notes.claim("k", "kind", "{}", "host:1:dead", T0, LEASE)  # an instance that died mid-post
    send = Sender()
    with pytest.raises(TransientError, match="being delivered by host:1:dead"):
        deliver_once(store.engine, "k", "kind", {}, send, T0 + LEASE - timedelta(seconds=1), LEASE)
    assert send.calls == 0
    assert deliver_once(store.engine, "k", "kind", {}, send, T0 + LEASE, LEASE) == "sent:slack"
    row = notes.get("k")
    assert send.calls == 1 and row is not None and row.sent and row.attempts == 2


def test_a_failed_post_gives_its_claim_back(store: RegistryStore) -> None:
    with pytest.raises(TransientError):
        deliver_once(store.engine, "k", "kind", {}, Sender(fail=True), T0, LEASE)
    assert NotificationStore(store.engine).get("k") is None
    assert deliver_once(store.engine, "k", "kind", {}, Sender(), T0, LEASE) == "sent:slack"


def test_only_the_owner_releases_a_claim(store: RegistryStore) -> None:
    notes = NotificationStore(store.engine)
    notes.claim("k", "kind", "{}", "old", T0, LEASE)
    notes.claim("k", "kind", "{}", "new", T0 + LEASE, LEASE)  # took the expired lease over
    notes.release("k", "old")  # the old owner's post failed late: it must not free the new claim
    row = notes.get("k")
    assert row is not None and row.claimed_by == "new" and row.live_at(T0 + LEASE)


def test_migration_013_keeps_sent_keys_and_frees_stuck_claims(engine_url: str) -> None:
    store = RegistryStore.open(engine_url)
    store.migrate(T0, target=12)
    legacy = "INSERT INTO notifications (notification_key, kind, status, payload, claimed_at, sent_at) VALUES "
    store.engine.run_atomic(
        [
            (legacy + "('sent-key', 'k', 'sent', '{}', @t, @t)", {"t": T0}),
            (legacy + "('stuck-key', 'k', 'claimed', '{}', @t, NULL)", {"t": T0}),  # the bug: claimed forever
        ]
    )
    store.migrate(T0)
    send = Sender()
    assert deliver_once(store.engine, "sent-key", "k", {}, send, T0, LEASE) == "duplicate"
    assert deliver_once(store.engine, "stuck-key", "k", {}, send, T0, LEASE) == "sent:slack"
    assert send.calls == 1


# -- Slack through slack-sdk ---------------------------------------------------------------------
@pytest.fixture
def slack() -> Iterator[SlackStub]:
    stub = SlackStub()
    yield stub
    stub.close()


def poster(url: str, retries: int = 2, backoff: float = 0.05, timeout: int = 5) -> SlackPoster:
    return SlackPoster(url, timeout=timeout, retries=retries, backoff_seconds=backoff)


def test_server_errors_are_retried_with_backoff(slack: SlackStub) -> None:
    slack.respond([(500, {}), (503, {})])
    assert poster(slack.url).post("hello", []) == "slack"
    assert len(slack.requests) == 3 and slack.posts == [{"text": "hello", "blocks": []}]


def test_no_sleep_after_the_last_attempt(slack: SlackStub) -> None:
    slack.respond([(500, {})] * 3)
    backoff = 0.4  # waits 0.4 s then 0.8 s; a third wait would be 1.6 s
    with pytest.raises(TransientError, match="HTTP 500"):
        poster(slack.url, retries=2, backoff=backoff).post("hello", [])
    gave_up = time.monotonic()
    arrivals = [r.at for r in slack.requests]
    assert len(arrivals) == 3
    assert arrivals[1] - arrivals[0] >= backoff and arrivals[2] - arrivals[1] >= 2 * backoff
    assert gave_up - arrivals[2] < backoff  # no wait after the last attempt


def test_a_429_retry_after_is_honoured(slack: SlackStub) -> None:
    slack.respond([(429, {"Retry-After": "1"})])
    assert poster(slack.url, backoff=0.01).post("hello", []) == "slack"
    first, second = (r.at for r in slack.requests)
    assert second - first >= 1.0  # Slack's wait, not the 0.01 s backoff


def test_a_retry_after_too_long_to_wait_here_is_left_to_redelivery(slack: SlackStub) -> None:
    slack.respond([(429, {"Retry-After": str(int(MAX_RETRY_AFTER_SECONDS) + 1)})])
    started = time.monotonic()
    with pytest.raises(TransientError, match="rate-limited"):
        poster(slack.url).post("hello", [])
    assert time.monotonic() - started < 5 and len(slack.requests) == 1


def test_a_refused_webhook_is_a_configuration_error(slack: SlackStub) -> None:
    slack.respond([(404, {})])
    with pytest.raises(ConfigError, match="SLACK_WEBHOOK_URL") as caught:
        poster(slack.url).post("hello", [])
    assert caught.value.exit_code == 5 and len(slack.requests) == 1  # a 4xx is not retried


def test_a_hung_slack_times_out_as_transient(slack: SlackStub) -> None:
    slack.respond([(HANG, {})])
    with pytest.raises(TransientError, match="unreachable"):
        poster(slack.url, timeout=1).post("hello", [])


def test_connection_refused_is_retried_then_transient() -> None:
    url = f"http://127.0.0.1:{free_port()}/services/T/B/token"
    started = time.monotonic()
    with pytest.raises(TransientError, match="unreachable"):
        poster(url, retries=2, backoff=0.2).post("hello", [])
    assert time.monotonic() - started >= 0.2 + 0.4  # two backoffs: the connection errors were retried


def test_without_a_webhook_the_message_goes_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    assert SlackPoster(None).post("hello there", []) == "log"
    assert "hello there" in caplog.text


def test_a_lease_shorter_than_the_longest_post_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    from common.settings import Settings

    env = {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/token", "SLACK_TIMEOUT_SECONDS": "10"}
    assert SlackPoster.from_settings(Settings.from_env(env)).longest_post < 300  # the defaults fit
    assert "NOTIFY_LEASE_SECONDS" not in caplog.text
    SlackPoster.from_settings(Settings.from_env({**env, "NOTIFY_LEASE_SECONDS": "60"}))
    assert "NOTIFY_LEASE_SECONDS=60 is shorter than the longest Slack post" in caplog.text
    assert "token" not in caplog.text
