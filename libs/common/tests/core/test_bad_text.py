"""Text PostgreSQL cannot store, a 405's Allow, and what the OpenAPI document promises."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter
from pydantic import BaseModel, Field
from vc_common.app import create_service_app
from vc_common.badtext import body_problem
from vc_common.settings import ServiceSettings

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "a\\u0000b"}',
        b'{"name": "\\ud800"}',
        b'{"name": "ok", "x": {"y": ["\\udfff"]}}',
        b'{"a\\u0000": "ok", "name": "ok"}',
        b'{"name": "ok", "deep": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
async def test_bad_text_in_a_body_is_422_and_stores_nothing(
    client: httpx.AsyncClient, body: bytes
) -> None:
    r = await client.post("/api/v1/widgets", content=body, headers=JSON)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["loc"] == ["body"]
    assert (await client.get("/api/v1/widgets")).json()["items"] == []


async def test_good_text_passes_untouched(client: httpx.AsyncClient) -> None:
    # an escaped backslash before "u0000" is the text \u0000, not a NUL; a pair is one character
    r = await client.post(
        "/api/v1/widgets", content=b'{"name": "\\\\u0000 \\ud83d\\ude00"}', headers=JSON
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "\\u0000 \U0001f600"


async def test_malformed_json_is_still_400(client: httpx.AsyncClient) -> None:
    assert body_problem(b'{"name": ') is None
    r = await client.post("/api/v1/widgets", content=b'{"name": ', headers=JSON)
    assert r.status_code == 400


@pytest.mark.parametrize("query", ["cursor=%00", "cursor=a%00b", "x=%00"])
async def test_nul_in_the_query_is_422(client: httpx.AsyncClient, query: str) -> None:
    r = await client.get(f"/api/v1/widgets?{query}")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


async def test_405_allows_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    r = await client.delete("/api/v1/widgets")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}


async def test_openapi_documents_the_problems_every_route_can_answer(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert {"Problem", "ValidationProblem"} <= set(schemas)
    create = doc["paths"]["/api/v1/widgets"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422", "429", "503"} <= set(create)
    assert create["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationProblem"
    }
    listing = doc["paths"]["/api/v1/widgets"]["get"]["responses"]
    assert "409" not in listing
    assert "413" not in listing
    assert listing["401"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }


# --- the documented JSON types, held to (vc_common.strictness) --------------------------------


class Thing(BaseModel):
    done: bool = False
    position: int | None = Field(None, ge=0)
    due: date | None = None


thing_router = APIRouter(prefix="/api/v1")


@thing_router.post("/things/{day}")
async def make_thing(day: date, body: Thing, until: date | None = None) -> dict[str, str]:
    return {"day": day.isoformat(), "body": body.model_dump_json(), "until": str(until)}


@pytest_asyncio.fixture
async def things() -> AsyncIterator[httpx.AsyncClient]:
    app = create_service_app(
        ServiceSettings(service_name="things"), title="t", routers=[thing_router], metadata=None
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.mark.parametrize(
    ("url", "body", "loc"),
    [
        ("/api/v1/things/2026-01-01", {"done": 0}, ["body", "done"]),
        ("/api/v1/things/2026-01-01", {"position": False}, ["body", "position"]),
        ("/api/v1/things/2026-01-01", {"position": 1.5}, ["body", "position"]),
        ("/api/v1/things/2026-01-01", {"due": 0}, ["body", "due"]),
        ("/api/v1/things/2026-01-01?until=0", {}, ["query", "until"]),
        ("/api/v1/things/0", {}, ["path", "day"]),
    ],
)
async def test_values_of_another_json_type_are_422_not_coerced(
    things: httpx.AsyncClient, url: str, body: dict[str, object], loc: list[str]
) -> None:
    r = await things.post(url, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in r.json()["errors"]] == [loc]


async def test_values_of_the_documented_types_pass(things: httpx.AsyncClient) -> None:
    r = await things.post(
        "/api/v1/things/2026-01-01?until=2026-02-01",
        json={"done": True, "position": 3, "due": None},
    )
    assert r.status_code == 200, r.text
    assert r.json()["until"] == "2026-02-01"


class Options(BaseModel):
    since: date | None = None


@thing_router.post("/optional")
async def optional_body(body: Options | None = None) -> dict[str, str]:
    return {"since": str(body.since if body else None)}


async def test_an_optional_body_points_at_its_field(things: httpx.AsyncClient) -> None:
    r = await things.post("/api/v1/optional", json={"since": 0})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "since"]
    assert (await things.post("/api/v1/optional")).status_code == 200
