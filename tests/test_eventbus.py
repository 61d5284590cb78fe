"""The event bus: backends chosen by URL through the one scheme map; the in-process bus runs the
inventory's services under the publisher's settings and fails loudly."""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

import pytest

from common import inventory
from common.cli.main import main
from common.errors import ConfigError, InvalidEvent, ServingBehind
from common.eventarc import pubsub_cloud_event
from common.eventbus import InProcessBus, PubSubBus, open_bus
from common.events import (
    GRADED_GAMES_NIGHTLY_JOB,
    RETRAIN_REMINDER_JOB,
    PubSubMessage,
    RegistryChangeMessage,
    graded_games_attributes,
    graded_games_body,
    parse_graded_games,
    parse_pubsub_event,
    parse_registry_change,
    parse_retrain_reminder,
    retrain_reminder_body,
)
from common.inventory import GRADED_GAMES
from common.manifest import MANIFEST_OBJECT, Manifest
from common.settings import Settings
from common.sql import open_engine
from tests import test_predict
from tests.support.tiny import tiny_card, tiny_model_bytes
from tests.test_cli import run
from tests.test_predict import DAY

# fixtures: a season in the registry's tables, a v9 champion and a v12_noveg shadow (model ids by role)
season, two_models = test_predict.season, test_predict.registry


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
    assert out.returncode == ServingBehind.exit_code == 8, out.stdout
    committed = f"enabled {model_id} committed; serving manifest not yet rebuilt (serving manifest is malformed"
    # As deployed, on_registry_change logs the permanent failure and acknowledges it (never redelivered);
    # the publisher, here in the same process, hears it from the bus and says it in one line.
    logged, said = out.stderr.strip().splitlines()
    assert said.startswith(f"modelctl enable: error: {committed}")
    record = json.loads(logged)
    assert record["severity"] == "ERROR" and record["outcome"] == "rejected"
    assert record["message"].startswith("permanent failure, acknowledged: serving manifest not yet rebuilt")
    assert record["event_id"] and record["model_id"] == model_id
    shown = json.loads(run("show", model_id, "--json", env=env).stdout)
    assert shown["enabled"] is True  # the change itself was committed; the error says what did not follow


# -- the in-process bus keeps the production contract (common/runner.py) ---------------------------
def test_inprocess_delivery_drops_a_stale_event_and_runs_nothing(tmp_path: Path) -> None:
    settings = Settings.from_env()
    old = pubsub_cloud_event(settings.gcp_project, inventory.REGISTRY_CHANGE, {"action": "resync"})
    old["time"] = "2026-02-16T12:35:01Z"  # days before the test's now: over MAX_EVENT_AGE_SECONDS
    bus = InProcessBus("inprocess://", settings)
    delivery = bus.deliver(inventory.function("on_registry_change"), old)
    assert (delivery.outcome, delivery.error) == ("stale", None)
    assert [(fn, d.outcome) for fn, d in bus.deliveries] == [("on_registry_change", "stale")]
    bucket = Path(settings.bucket_url.removeprefix("file://"))
    assert not (bucket / MANIFEST_OBJECT).exists()  # the service never ran (it would have written one)


def test_inprocess_permanent_failure_is_logged_and_acknowledged(caplog: pytest.LogCaptureFixture) -> None:
    bus = InProcessBus("inprocess://", Settings.from_env())
    message_id = bus.publish(inventory.REGISTRY_CHANGE, {"action": "enabled", "model_ids": [7]})  # not ids
    assert message_id  # published: a malformed message is not redelivered, so the publisher goes on
    [(fn, delivery)] = bus.deliveries
    assert (fn, delivery.outcome, type(delivery.error)) == ("on_registry_change", "rejected", InvalidEvent)
    assert "model_ids must be a list of model ids (strings), not [7]" in str(delivery.error)
    [record] = [r for r in caplog.records if r.getMessage().startswith("permanent failure, acknowledged")]
    assert record.levelname == "ERROR" and record.outcome == "rejected"  # type: ignore[attr-defined]


def test_inprocess_retryable_failure_reaches_the_publisher(tmp_path: Path) -> None:
    """No registry yet (`modelctl migrate` not run): a ConfigError, retryable: the publish fails and
    says where; the publisher's rerun is the redelivery."""
    bus = InProcessBus("inprocess://", Settings(registry_url=f"duckdb://{tmp_path / 'none.duckdb'}"))
    with pytest.raises(ConfigError, match=r"^delivering graded-games to update_performance failed: .*migrate"):
        bus.publish(GRADED_GAMES, graded_games_body([date(2026, 2, 20)]), graded_games_attributes("modelctl"))
    assert bus.deliveries == []


# -- registry-change and retrain-reminder messages: typed, malformed ones refused with the reason -------
def test_registry_change_messages_round_trip() -> None:
    one = RegistryChangeMessage("promoted", ("old", "new"), "ana", "2026-03-01T09:00:00+00:00", "beat it")
    batch = RegistryChangeMessage("batch", ("old", "new"), "ana", one.occurred_at, changes=(one, one))
    for change in (one, batch, RegistryChangeMessage("resync")):
        assert parse_registry_change(_message(change.body())) == change


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([1], "must be a JSON object such as"),
        ({"model_ids": ["m"]}, "has action None; expected a lower-case word"),
        ({"action": "Enabled; drop"}, "expected a lower-case word"),
        ({"action": "enabled", "model_ids": ["m", ""]}, "model_ids must be a list of model ids"),
        ({"action": "enabled", "actor": 5}, "actor must be a string, not int"),
        ({"action": "enabled", "occurred_at": "yesterday"}, "occurred_at 'yesterday' is not an ISO 8601 time"),
        ({"action": "batch", "changes": {"action": "enabled"}}, "a batch carries a list of 1-10000 changes"),
        ({"action": "batch", "changes": [{"action": "batch", "changes": [{"action": "x"}]}]}, "(not nested)"),
        ({"action": "batch", "changes": [{"action": "enabled"}, "x"]}, ", change 2 must be a JSON object"),
    ],
)
def test_bad_registry_change_messages_are_invalid_events(payload: object, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=re.escape(reason)):
        parse_registry_change(_message(payload))


def test_retrain_reminder_contract() -> None:
    job = inventory.schedule(inventory.RETRAIN_REMINDER)
    assert job.body == retrain_reminder_body() == {"job": RETRAIN_REMINDER_JOB}
    scheduled = parse_retrain_reminder(_message(job.body, published="2026-03-01T14:00:00Z"))
    assert (scheduled.day, scheduled.scheduled) == (date(2026, 3, 1), True)
    named = parse_retrain_reminder(_message(retrain_reminder_body(date(2026, 2, 20))))
    assert (named.day, named.scheduled) == (date(2026, 2, 20), False)
    for payload, reason in [
        ("x", "must be a JSON object such as"),
        ({"job": "graded-games-nightly"}, "is for job 'graded-games-nightly'"),
        ({"date": "2026-02-30"}, "date '2026-02-30' is not YYYY-MM-DD"),
        ({"date": 20260220}, "date 20260220 is not YYYY-MM-DD"),
    ]:
        with pytest.raises(InvalidEvent, match=re.escape(reason)):
            parse_retrain_reminder(_message(payload))


# -- graded-games: the message contract and its route on the embedded default ----------------------
def _message(payload: object, attributes: dict[str, str] | None = None, published: str | None = None) -> PubSubMessage:
    event = pubsub_cloud_event("p", GRADED_GAMES, payload, attributes)
    if published:
        event.data["message"]["publishTime"] = published
    return parse_pubsub_event(event)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"game_date": "2026-03-01"}, (date(2026, 3, 1),)),
        ({"game_dates": ["2026-03-02", "2026-03-01", "2026-03-02"]}, (date(2026, 3, 1), date(2026, 3, 2))),
        (graded_games_body([date(2026, 2, 20)]), (date(2026, 2, 20),)),
    ],
)
def test_graded_games_contract(payload: dict, expected: tuple) -> None:
    parsed = parse_graded_games(_message(payload, graded_games_attributes("boxscore-ingest")), "America/New_York")
    assert (parsed.game_dates, parsed.origin, parsed.scheduled) == (expected, "boxscore-ingest", False)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"game_date": "yesterday"},
        [1],
        {"game_dates": []},
        {"job": "retrain-reminder"},
        {"game_date": "20260220"},  # ISO basic form: fromisoformat takes it, the contract says YYYY-MM-DD
        {"game_dates": ["2026-W08-5"]},
        {"game_dates": [{"d": 1}]},
        {"game_dates": ["2026-02-20"] * 2 + [str(date(2020, 1, 1).fromordinal(737425 + i)) for i in range(5000)]},
    ],
)
def test_bad_graded_games_messages_are_invalid_events(payload: object) -> None:
    with pytest.raises(InvalidEvent):
        parse_graded_games(_message(payload), "America/New_York")


def test_a_message_of_another_schema_version_is_refused() -> None:
    with pytest.raises(InvalidEvent, match="expected graded-games/1"):
        parse_graded_games(_message({"game_date": "2026-03-01"}, {"schema": "graded-games/2"}), "UTC")


def test_the_nightly_job_grades_yesterday_in_its_time_zone() -> None:
    job = inventory.schedule(GRADED_GAMES)
    assert job.body == {"job": GRADED_GAMES_NIGHTLY_JOB} and job.topic == GRADED_GAMES
    # 10:30 UTC on 21 Feb is 05:30 in New York: yesterday there is 20 Feb
    parsed = parse_graded_games(_message(job.body, published="2026-02-21T10:30:00Z"), job.time_zone)
    assert parsed.game_dates == (date(2026, 2, 20),) and parsed.scheduled
    # 03:00 UTC on 21 Feb is still 20 Feb in New York: yesterday is 19 Feb
    parsed = parse_graded_games(_message(job.body, published="2026-02-21T03:00:00Z"), job.time_zone)
    assert parsed.game_dates == (date(2026, 2, 19),)


def _daily(settings: Settings, day: date) -> dict[str, tuple[int, int]]:
    rows = open_engine(settings.registry_url).query(
        "SELECT system_id, n, n_pending FROM model_performance_daily WHERE game_date = @d", {"d": day}
    )
    return {r["system_id"]: (int(r["n"]), int(r["n_pending"])) for r in rows}


def _accuracy(settings: Settings, day: date) -> list[tuple]:
    rows = open_engine(settings.registry_url).query(
        "SELECT system_id, player_id, predicted_points, actual_points, is_correct FROM prediction_accuracy "
        "WHERE game_date = @d ORDER BY system_id, player_id",
        {"d": day},
    )
    return [tuple(r.values()) for r in rows]


def test_predict_then_publish_graded_games_fills_model_performance_daily(
    two_models: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Done means: on the embedded default, predict a date, then `modelctl publish graded-games
    --date D` runs update_performance's service through the in-process bus; a second delivery of
    the same message changes nothing."""
    settings = Settings.from_env()
    assert settings.event_bus_url == "inprocess://"
    assert main(["predict", "--date", str(DAY)]) == 0
    assert _daily(settings, DAY) == {}
    capsys.readouterr()

    assert main(["publish", "graded-games", "--date", str(DAY), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dates"] == [str(DAY)] and out["bus"] == "inprocess://"
    assert [d["function"] for d in out["deliveries"]] == ["update_performance"]
    assert out["deliveries"][0]["outcome"].startswith("graded ")
    first = _daily(settings, DAY)
    assert set(first) == set(two_models.values())
    assert all(n > 0 and pending == 0 for n, pending in first.values())
    rows = _accuracy(settings, DAY)
    assert len(rows) == sum(n for n, _ in first.values())

    assert main(["publish", "graded-games", "--date", str(DAY)]) == 0  # a double delivery is harmless
    assert "update_performance: graded" in capsys.readouterr().out
    assert _daily(settings, DAY) == first and _accuracy(settings, DAY) == rows


def test_a_date_whose_games_are_not_final_is_pending_then_completed(
    two_models: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.from_env()
    assert main(["predict", "--date", str(DAY)]) == 0
    engine, on_day = open_engine(settings.registry_url), {"d": DAY}
    box_scores = engine.query_frame("SELECT * FROM player_games WHERE game_date = @d", on_day)
    engine.write_frame(
        "player_games", box_scores.iloc[0:0], ("DELETE FROM player_games WHERE game_date = @d", on_day)
    )  # no game is final yet
    capsys.readouterr()

    assert main(["publish", "graded-games", "--date", str(DAY)]) == 0
    out = capsys.readouterr().out
    assert f"pending (games not final): {DAY}" in out
    assert _accuracy(settings, DAY) == []
    assert all(n == 0 and pending > 0 for n, pending in _daily(settings, DAY).values())
    assert main(["performance", "--json"]) == 0
    figures = [m["figures"] for m in json.loads(capsys.readouterr().out)["models"]]
    assert all(f is None or f["n"] == 0 for f in figures)  # nothing was graded as zero

    engine.write_frame(
        "player_games", box_scores, ("DELETE FROM player_games WHERE game_date = @d", on_day)
    )  # the results arrive
    assert main(["publish", "graded-games", "--date", str(DAY)]) == 0
    assert "pending" not in capsys.readouterr().out
    assert all(n > 0 and pending == 0 for n, pending in _daily(settings, DAY).values())
