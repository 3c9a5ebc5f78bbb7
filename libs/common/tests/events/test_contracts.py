"""Producer-contract tests: what add_event writes is a valid CloudEvents envelope, and
validate_event checks the data against the type's versioned schema."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from vc_common.db import Database
from vc_common.events.contracts import ContractError, contracts_dir, validate_event
from vc_common.events.envelope import CloudEvent
from vc_common.events.outbox import add_event
from vc_common.telemetry import setup_tracing, tracer
from vc_events_kit import tables

SCHEMA_V1: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["item_id", "position"],
    "properties": {
        "item_id": {"type": "string", "format": "uuid"},
        "position": {"type": "integer", "minimum": 0},
    },
}
SCHEMA_V2 = {
    **SCHEMA_V1,
    "required": ["item_id", "position", "label"],
    "properties": {**SCHEMA_V1["properties"], "label": {"type": "string"}},
}


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A contracts folder holding the real envelope and a test type in two versions."""
    events = tmp_path / "contracts" / "events"
    events.mkdir(parents=True)
    shutil.copy(contracts_dir() / "_envelope.json", events / "_envelope.json")
    (events / "ctest.item.changed.v1.json").write_bytes(orjson.dumps(SCHEMA_V1))
    (events / "ctest.item.changed.v2.json").write_bytes(orjson.dumps(SCHEMA_V2))
    monkeypatch.setenv("CONTRACTS_DIR", str(tmp_path / "contracts"))
    return events


def test_the_repository_envelope_is_found_by_walking_up() -> None:
    assert (contracts_dir() / "_envelope.json").is_file()
    assert contracts_dir().parent.name == "contracts"


async def test_add_event_writes_a_valid_cloudevent(clean_db: Database, folder: Path) -> None:
    del folder
    setup_tracing("events-test", in_memory=True)
    item = "0190c1c5-2c3d-7000-8000-000000000001"
    with tracer("test").start_as_current_span("request"):
        async with clean_db.unit_of_work() as session:
            event = await add_event(
                session,
                tables,
                source="ctest",
                type="ctest.item.changed",
                subject=item,
                data={"item_id": item, "position": 3, "label": "x"},
            )
    async with clean_db.engine.connect() as conn:
        payload = (await conn.execute(select(tables.outbox.c.payload))).scalar_one()
    validate_event(payload)  # latest version (v2)
    assert payload["specversion"] == "1.0"
    assert payload["id"] == str(event.id)
    assert payload["datacontenttype"] == "application/json"
    assert payload["traceparent"] == event.traceparent
    assert payload["time"].endswith("Z")
    # consumers ignore unknown fields: an envelope extension and extra data survive parsing
    parsed = CloudEvent.model_validate({**payload, "someextension": "x"})
    assert parsed.id == event.id
    assert parsed.data["label"] == "x"


def test_invalid_envelopes_and_data_are_rejected(folder: Path) -> None:
    del folder
    good = CloudEvent(
        source="ctest",
        type="ctest.item.changed",
        subject="s1",
        data={"item_id": "0190c1c5-2c3d-7000-8000-000000000001", "position": 1, "label": "a"},
    ).to_dict()
    validate_event(good)
    with pytest.raises(ContractError, match="envelope"):
        validate_event({k: v for k, v in good.items() if k != "subject"})
    with pytest.raises(ContractError, match="envelope"):
        validate_event({**good, "type": "NotDotted"})
    with pytest.raises(ContractError, match="envelope"):
        validate_event({**good, "traceparent": "nope"})
    with pytest.raises(ContractError, match=r"v2\.json"):
        validate_event({**good, "data": {"item_id": good["data"]["item_id"], "position": 1}})
    # an explicit dataschema selects the version
    v1 = {
        **good,
        "dataschema": "contracts/events/ctest.item.changed.v1.json",
        "data": {"item_id": good["data"]["item_id"], "position": 1},
    }
    validate_event(v1)
    with pytest.raises(ContractError, match="position"):
        validate_event({**v1, "data": {"item_id": good["data"]["item_id"], "position": -1}})
    with pytest.raises(ContractError, match="no schema"):
        validate_event({**good, "type": "ctest.item.unknown"})


def test_every_schema_can_be_completed_for_consumer_tests() -> None:
    """complete_data fills what a consumer test leaves out with values the schema accepts, for
    every event type in the repository, and keeps what the test gave."""
    from vc_common.events.contracts import complete_data, contracts_dir

    types = sorted({p.name.rsplit(".v", 1)[0] for p in contracts_dir().glob("*.v*.json")})
    assert len(types) > 40
    for event_type in types:
        data = complete_data(event_type, {})
        validate_event(
            CloudEvent(
                source=event_type.split(".")[0], type=event_type, subject="s", data=data
            ).to_dict()
        )
    kept = complete_data("tasks.task.completed", {"title": "mine"})
    assert kept["title"] == "mine"
