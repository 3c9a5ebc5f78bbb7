"""What chat's endpoints take from the running app besides the request's ``Context``: this
replica's real-time hub, the shared rate limiter and the group commit of posts, passed on to
the service functions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from vc_common.ratelimit import RateLimiter

from chat.messages.grouping import GroupCommit
from chat.realtime.hub import Hub


async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def get_posts(request: Request) -> GroupCommit | None:
    """This replica's group commit, or ``None`` (off, or the request has an ``Idempotency-Key``:
    its key row and its message must commit together, in the request's transaction)."""
    if "idempotency-key" in request.headers:
        return None
    posts: GroupCommit | None = request.app.state.posts
    return posts


HubDep = Annotated[Hub, Depends(get_hub)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
PostsDep = Annotated[GroupCommit | None, Depends(get_posts)]
