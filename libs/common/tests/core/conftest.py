"""A tiny service built with create_service_app, used to test the shared library for real."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import pytest
import pytest_asyncio
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import MetaData, String, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from vc_common.app import create_service_app
from vc_common.auth import CurrentUser
from vc_common.errors import Conflict
from vc_common.models import NAMING_CONVENTION, CreatedAtMixin, UUIDMixin
from vc_common.pagination import Page, PageDep, paginate
from vc_common.settings import ServiceSettings
from vc_common.tables import install_common_tables
from vc_common.testing.plugin import ServiceUnderTest
from vc_common.uow import SessionDep


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


@router.get("/me")
async def me(user: CurrentUser) -> dict[str, str]:
    return {"id": str(user.id), "username": user.username}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internal detail")


def create_app() -> object:
    settings = ServiceSettings(service_name="sample")
    return create_service_app(settings, title="sample", routers=[router], metadata=Base.metadata)


@pytest.fixture(scope="session")
def vc_service() -> ServiceUnderTest:
    return ServiceUnderTest(name="sample", app_factory=create_app)


@pytest_asyncio.fixture(scope="session", autouse=True)
async def _schema(db_engine: AsyncEngine) -> AsyncIterator[None]:
    async with db_engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
