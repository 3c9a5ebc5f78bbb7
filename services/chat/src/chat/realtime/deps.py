from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from chat.realtime.hub import Hub


async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]
