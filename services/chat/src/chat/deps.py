"""What chat's endpoints take from the running app besides the request's ``Context``: this
replica's real-time hub and the shared rate limiter, passed on to the service functions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from vc_common.ratelimit import RateLimiter

from chat.realtime.hub import Hub


async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


HubDep = Annotated[Hub, Depends(get_hub)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
