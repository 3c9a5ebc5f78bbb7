"""Dependency aliases shared by the focus endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from focus.settings import Settings


async def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]
