"""A tiny service built with create_service_app, used to test the shared library for real."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import pytest
import pytest_asyncio
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import MetaData, String, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from vc_common.app import create_service_app
from vc_common.auth import CurrentUser
from vc_common.bodylimit import body_limit
from vc_common.errors import Conflict
from vc_common.models import NAMING_CONVENTION, CreatedAtMixin, UUIDMixin
from vc_common.pagination import Page, PageDep, paginate
from vc_common.settings import ServiceSettings
from vc_common.tables import install_common_tables
from vc_common.testing.plugin import ServiceUnderTest
from vc_common.uow import SessionDep, snapshot, writes


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


install_common_tables(Base.metadata)


class Widget(UUIDMixin, CreatedAtMixin, Base):
    __tablename__ = "widgets"
    name: Mapped[str] = mapped_column(String(100), unique=True)


class WidgetCreate(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]


class WidgetRead(BaseModel):
    id: uuid.UUID
    name: str


router = APIRouter(prefix="/api/v1")


@router.post("/widgets", status_code=201)
async def create_widget(body: WidgetCreate, session: SessionDep, response: Response) -> WidgetRead:
    w = Widget(name=body.name)
    session.add(w)
    await session.flush()
    response.headers["Location"] = f"/api/v1/widgets/{w.id}"
    return WidgetRead(id=w.id, name=w.name)


@router.post("/widgets/conflict", status_code=201)
async def create_then_conflict(body: WidgetCreate, session: SessionDep) -> WidgetRead:
    session.add(Widget(name=body.name))
    await session.flush()
    raise Conflict("Refused after a write; nothing may be kept.")


@router.get("/widgets")
async def list_widgets(session: SessionDep, page: PageDep) -> Page[WidgetRead]:
    rows, cursor = await paginate(
        session, select(Widget), page, keys=[Widget.id], convert=[uuid.UUID]
    )
    return Page(items=[WidgetRead(id=w.id, name=w.name) for w in rows], next_cursor=cursor)


@router.get("/widgets/stream")
async def stream_widgets(session: SessionDep, request: Request) -> StreamingResponse:
    """A long answer of a request that ran no transaction (as a download whose reads ran in a
    unit of their own): it must stream, not wait in the unit of work's buffer."""
    del session
    release: asyncio.Event = request.app.state.stream_release

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first"
        await release.wait()
        yield b"second"

    return StreamingResponse(chunks(), media_type="application/octet-stream")


@router.get("/widgets/sneaky")
async def sneaky_get(session: SessionDep, name: str) -> WidgetRead:
    """A GET that writes without saying so: refused loudly (a read session never writes)."""
    w = Widget(name=name)
    session.add(w)
    await session.flush()
    return WidgetRead(id=w.id, name=w.name)


@router.get("/widgets/sneaky-sql")
async def sneaky_sql_get(session: SessionDep, name: str) -> dict[str, str]:
    """The same through Core SQL."""
    from sqlalchemy import insert

    await session.execute(insert(Widget).values(id=uuid.uuid4(), name=name))
    return {"name": name}


@router.get("/widgets/declared")
@writes
async def declared_writing_get(session: SessionDep, name: str) -> WidgetRead:
    """A GET that must write (an OAuth redirect lands on one) and says so: a transaction."""
    w = Widget(name=name)
    session.add(w)
    await session.flush()
    return WidgetRead(id=w.id, name=w.name)


async def _clock_moves(session: SessionDep) -> dict[str, bool]:
    """Whether two statements of this request saw different transaction start times: they do
    when each ran in a transaction of its own (autocommit), not inside one transaction."""
    from sqlalchemy import text

    first = (await session.execute(text("SELECT now()"))).scalar_one()
    await asyncio.sleep(0.01)
    second = (await session.execute(text("SELECT now()"))).scalar_one()
    return {"moves": first != second}


@router.get("/clock")
async def clock_get(session: SessionDep) -> dict[str, bool]:
    return await _clock_moves(session)


@router.get("/clock/snapshot")
@snapshot
async def clock_snapshot_get(session: SessionDep) -> dict[str, bool]:
    return await _clock_moves(session)


@router.post("/clock")
async def clock_post(session: SessionDep) -> dict[str, bool]:
    return await _clock_moves(session)


@router.get("/me")
async def me(user: CurrentUser) -> dict[str, str]:
    return {"id": str(user.id), "username": user.username}


@router.post("/upload")
@body_limit(None)
async def upload(request: Request, session: SessionDep) -> dict[str, int]:
    """A route that takes more than the default body limit (streamed, bounded by itself)."""
    del session
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"size": size}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internal detail")


def create_app() -> object:
    settings = ServiceSettings(service_name="sample")
    return create_service_app(settings, title="sample", routers=[router], metadata=Base.metadata)


@pytest.fixture(scope="session")
def vc_service() -> ServiceUnderTest:
    return ServiceUnderTest(name="sample", app_factory=create_app, migrations=False)


@pytest_asyncio.fixture(scope="session", autouse=True)
async def _schema(db_engine: AsyncEngine) -> AsyncIterator[None]:
    async with db_engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
