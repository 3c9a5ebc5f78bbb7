from __future__ import annotations

import pytest
from pydantic import ValidationError
from vc_common.settings import ServiceSettings, database_url_for


def test_each_service_gets_its_own_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/postgres")
    monkeypatch.delenv("TASKS_DATABASE_URL", raising=False)
    assert database_url_for("tasks") == "postgresql+asyncpg://u:p@db:5432/tasks"
    monkeypatch.setenv("TASKS_DATABASE_URL", "postgres://x@elsewhere/kanban")
    assert database_url_for("tasks") == "postgresql+asyncpg://x@elsewhere/kanban"


def test_production_refuses_the_development_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SAMPLE_DATABASE_URL", "EVENT_BUS_URL", "JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        ServiceSettings(service_name="sample")
    monkeypatch.setenv("DATABASE_URL", "postgresql://vc:secret@db:5432/postgres")
    with pytest.raises(ValidationError, match="EVENT_BUS_URL"):
        ServiceSettings(service_name="sample")
    monkeypatch.setenv("EVENT_BUS_URL", "nats://nats:4222")
    with pytest.raises(ValidationError, match="JWKS_URL"):
        ServiceSettings(service_name="sample")
    monkeypatch.setenv("JWKS_URL", "http://identity:8000/.well-known/jwks.json")
    settings = ServiceSettings(service_name="sample")
    assert settings.is_production
    assert settings.async_database_url == "postgresql+asyncpg://vc:secret@db:5432/sample"


def test_development_keeps_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SAMPLE_DATABASE_URL", "EVENT_BUS_URL", "JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "development")
    assert ServiceSettings(service_name="sample").event_bus_url == "nats://127.0.0.1:4222"
