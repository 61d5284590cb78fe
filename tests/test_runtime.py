"""One runtime per process: clients built once per URL, the dashboard's registry read-only."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.app import registration_service
from common.dashboard.data import DashboardData
from common.errors import AppError
from common.registry.service import RegistryService
from common.runtime import process_runtime, runtime_for
from common.settings import Settings
from tests.support.tiny import tiny_card, tiny_model_bytes


@pytest.fixture
def settings(duck_registry: RegistryService) -> Settings:
    """The environment's settings, on the migrated registry ``isolated_env`` names."""
    return Settings.from_env()


def test_one_runtime_per_settings_and_one_client_per_url(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = process_runtime()
    assert process_runtime() is runtime is runtime_for(Settings.from_env())
    assert runtime.engine() is runtime.engine() and runtime.bucket() is runtime.bucket()
    assert runtime.bus() is runtime.bus()
    other = f"file://{isolated_env / 'elsewhere'}"
    assert runtime.bucket(other) is runtime.bucket(other) is not runtime.bucket()
    assert runtime.built == 4  # engine, bucket, bus, the other bucket: nothing built twice
    monkeypatch.setenv("MODEL_BUCKET_URL", other)  # another environment: another runtime
    assert process_runtime() is not runtime


def test_the_dashboards_registry_is_read_only_and_announces_nothing(settings: Settings) -> None:
    registration = registration_service(settings)  # the writer's registry: it announces on the bus
    info = registration.bucket.write("v9.cbm", tiny_model_bytes(tiny_card("v9"), seed=1))
    model_id = registration.register_object(info.name).record.model_id
    service = runtime_for(settings).registry()
    assert service._listeners
    data = DashboardData.open(settings)
    assert data.registry._listeners == []
    with pytest.raises(AppError, match="read-only"):
        data.registry.enable(model_id)
    with pytest.raises(AppError, match="read-only"):
        data.engine.run_atomic([("DELETE FROM models WHERE TRUE", {})])
    assert not service.get(model_id).enabled and [m.model_id for m in data.models()] == [model_id]
