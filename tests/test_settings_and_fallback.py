"""Settings are read once with named errors; the built-in list serves when the registry cannot."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from common.errors import ConfigError, TransientError
from common.grading.catalog import load_catalog
from common.registry.fallback import BUILTIN, builtin_models, which_models
from common.settings import ENVIRONMENT, LOCAL_DIR, SLACK_WEBHOOK_URL, Settings


def test_defaults_point_at_the_repo_local_folder() -> None:
    settings = Settings.from_env({})
    assert settings.registry_url == f"duckdb://{LOCAL_DIR}/registry.duckdb"
    assert settings.bucket_url == f"file://{LOCAL_DIR}/bucket"
    assert settings.registry_url.startswith("duckdb:///") and settings.slack_webhook_url is None


def test_environment_overrides() -> None:
    settings = Settings.from_env(
        {
            "MODEL_REGISTRY_URL": "bigquery://p/d",
            "MODEL_BUCKET_URL": "gs://models",
            "SLACK_WEBHOOK_URL": "https://hooks.example/x",
            "MAX_MODEL_BYTES": "1000",
            "REMINDER_LEVEL_DAYS": "7,10,20",
            "REMINDER_SILENT_WHEN_CLEAR": "yes",
        }
    )
    assert (settings.registry_url, settings.bucket_url) == ("bigquery://p/d", "gs://models")
    assert settings.max_model_bytes == 1000 and settings.reminder_levels == (7, 10, 20)
    assert settings.reminder_silent_when_clear is True


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAX_MODEL_BYTES": "lots"}, "MAX_MODEL_BYTES must be a whole number"),
        ({"MAX_EVENT_AGE_SECONDS": "0"}, "MAX_EVENT_AGE_SECONDS must be at least 1"),
        ({"REMINDER_LEVEL_DAYS": "20,10,5"}, "REMINDER_LEVEL_DAYS must be 3 increasing numbers"),
        ({"REMINDER_SILENT_WHEN_CLEAR": "maybe"}, "REMINDER_SILENT_WHEN_CLEAR must be true or false"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_one_environment_table_names_every_setting_once() -> None:
    """``ENVIRONMENT`` is the one list of variables: one row per ``Settings`` field (default and type
    read from the field), and what ``to_env`` writes for a function ``from_env`` reads back."""
    fields = [v.field for v in ENVIRONMENT]
    assert sorted(fields) == sorted(Settings.__dataclass_fields__) and len(set(fields)) == len(fields)
    assert len({v.name for v in ENVIRONMENT}) == len(ENVIRONMENT)
    age = next(v for v in ENVIRONMENT if v.name == "MAX_EVENT_AGE_SECONDS")
    assert (age.default, age.type) == (Settings.max_event_age_seconds, "int")
    assert [v.name for v in ENVIRONMENT if v.secret] == [SLACK_WEBHOOK_URL]
    deployed = Settings(manifest_poll_seconds=1.0, actor="register-model", max_event_age_seconds=60)
    env = deployed.to_env("register_model")
    assert SLACK_WEBHOOK_URL not in env and env["MANIFEST_POLL_SECONDS"] == "1"
    assert Settings.from_env(env) == deployed


def test_the_registry_answers_first(caplog: pytest.LogCaptureFixture) -> None:
    builtin = builtin_models()
    caplog.set_level(logging.INFO)
    catalog = load_catalog(lambda: builtin)
    assert catalog.source == "registry" and catalog.models == tuple(builtin)
    assert "unreadable" not in caplog.text


def test_builtin_list_serves_when_the_registry_is_down(caplog: pytest.LogCaptureFixture) -> None:
    """Grading's catalog and the worker's plan come from the same ``which_models``."""

    def down() -> list[object]:
        raise TransientError("registry bigquery://p/d is unreachable")

    caplog.set_level(logging.INFO)
    catalog = load_catalog(down)  # type: ignore[arg-type]
    assert catalog.source == BUILTIN and len(catalog.models) >= 1
    assert catalog.champion is not None and catalog.champion.model_id == "catboost_v9_train1102_0215"
    assert "registry unreadable: registry bigquery://p/d is unreachable" in caplog.text
    assert "registry unreadable, serving the built-in list" in caplog.text


def test_a_source_with_nothing_yet_is_passed_over_quietly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    answer = which_models([("manifest", lambda: None), ("registry", lambda: "answered")], lambda _: "built-in")
    assert (answer.source, answer.value) == ("registry", "answered")
    assert "unreadable" not in caplog.text


def test_builtin_list_skips_disabled_entries(tmp_path: Path) -> None:
    path = tmp_path / "builtin.json"
    entries = json.loads(Path("common/registry/builtin_models.json").read_text())
    entries.append({**entries[0], "model_id": "catboost_v9_off", "enabled": False, "status": "shadow"})
    path.write_text(json.dumps(entries))
    assert [m.model_id for m in builtin_models(path)] == ["catboost_v9_train1102_0215"]
