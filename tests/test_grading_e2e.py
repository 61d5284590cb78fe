"""End to end over the emulator stack: a graded-games message → ``update_performance``.

google-cloud-pubsub publish → Pub/Sub emulator → push subscription → ``update_performance``
(functions-framework, its own process) → prediction_accuracy, model_performance_daily and
the registry's live evaluation in the shared DuckDB file, and one promotion note on a local
Slack stand-in however often the message is delivered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.grading.store import GradingStore
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from infra.local.stack import LocalFunction, PushSpec, Stack, missing_prerequisites
from tests.support.registry import engine_of
from tests.support.stack_events import publish
from tests.test_functions import SlackStub
from tests.test_grading import WIN_DATES, WIN_PLAYERS, A, B, challenger_wins_fixture
from tests.test_stack_e2e import wait_for

MISSING = missing_prerequisites()
pytestmark = [
    pytest.mark.emulator,
    pytest.mark.skipif(bool(MISSING), reason=f"local emulator stack unavailable: {'; '.join(MISSING)}"),
]
PROJECT = "local-project"


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStub]:
    stub = SlackStub()
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, slack: SlackStub) -> Iterator[tuple[Stack, RegistryService]]:
    workdir = tmp_path_factory.mktemp("grading-e2e")
    registry_url = f"duckdb://{workdir / 'registry.duckdb'}"
    store = RegistryStore.open(registry_url)
    registry = RegistryService(store, actor="pytest")
    store.migrate(registry.clock())
    challenger_wins_fixture(registry)
    env = {"MODEL_REGISTRY_URL": registry_url, "SLACK_WEBHOOK_URL": slack.url, "MODELCTL_ACTOR": "eventarc"}
    running = Stack.start(
        functions=[LocalFunction("update_performance", Path("functions/update_performance"))],
        subscriptions=[PushSpec("update_performance", topic="graded-games")],
        bucket="grading-e2e",
        workdir=workdir,
        project=PROJECT,
        env=env,
    )
    try:
        yield running, registry
    finally:
        running.stop()


def test_graded_games_message_grades_and_advises_once(stack: tuple[Stack, RegistryService], slack: SlackStub) -> None:
    running, registry = stack
    grading = GradingStore(engine_of(registry))
    message = json.dumps({"game_dates": [str(d) for d in WIN_DATES]}).encode()
    publish(running.env, "graded-games", message, origin="boxscore-ingest")

    def evaluated() -> int:
        return int(grading.read_evaluation([B])[B]["eval_7d_n"] or 0)

    assert wait_for(evaluated, timeout=60, what="update_performance to grade and evaluate") == 7 * WIN_PLAYERS
    count = "SELECT COUNT(*) AS n FROM prediction_accuracy"
    assert grading.engine.query(count)[0]["n"] == 2 * len(WIN_DATES) * WIN_PLAYERS
    wait_for(lambda: slack.posts, what="the promotion advice on Slack")

    first_update = grading.read_evaluation([B])[B]["evaluation_updated_at"]
    publish(running.env, "graded-games", message)  # a repeat: same rows, no second note
    wait_for(
        lambda: grading.read_evaluation([B])[B]["evaluation_updated_at"] != first_update,
        timeout=60,
        what="the repeated message to be graded",
    )
    assert grading.engine.query(count)[0]["n"] == 2 * len(WIN_DATES) * WIN_PLAYERS
    assert len(slack.posts) == 1 and f"modelctl promote {B}" in slack.posts[0]["text"]
    assert registry.get(A).is_champion
