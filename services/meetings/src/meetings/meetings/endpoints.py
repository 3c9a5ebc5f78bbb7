"""Routes of meetings: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from vc_common.context import Context, ContextDep, context_for
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep
from vc_common.uow import SessionDep

from meetings.meetings import service
from meetings.meetings.schemas import (
    Instant,
    JoinRead,
    MeetingCreate,
    MeetingRead,
    MeetingStatus,
    MeetingUpdate,
    ParticipantList,
    ParticipantRead,
    WebhookAnswer,
)

router = APIRouter(prefix="/api/v1", tags=["meetings"], responses=PROBLEM_RESPONSES)


async def provider_context(request: Request, session: SessionDep) -> Context:
    """A provider's webhook: no access token (the provider signs its body), the system acts."""
    return context_for(request.app, session)


ProviderContextDep = Annotated[Context, Depends(provider_context)]


def _meeting(view: service.MeetingView) -> MeetingRead:
    m = view.meeting
    return MeetingRead(
        id=m.id,
        team_id=m.team_id,
        title=m.title,
        description=m.description,
        start_time=m.start_time,
        end_time=m.end_time,
        created_by_id=m.created_by_id,
        status=m.status,
        provider=m.provider,
        meeting_link=m.meeting_link,
        recording_url=m.recording_url,
        started_at=m.started_at,
        ended_at=m.ended_at,
        created_at=m.created_at,
        updated_at=m.updated_at,
        participants=[_participant(p) for p in view.participants],
    )


def _participant(p: service.ParticipantView) -> ParticipantRead:
    return ParticipantRead.model_validate(p, from_attributes=True)


@router.post(
    "/teams/{team_id}/meetings", status_code=status.HTTP_201_CREATED, response_model=MeetingRead
)
async def create_meeting(
    team_id: uuid.UUID, body: MeetingCreate, ctx: ContextDep, response: Response
) -> MeetingRead:
    """Schedule a meeting of the team: `scheduled`, with its `meeting_link`, the participants
    `invited` (members of the team only: 422)."""
    view = await service.create_meeting(ctx, team_id, body)
    response.headers["Location"] = f"/api/v1/meetings/{view.meeting.id}"
    return _meeting(view)


@router.get("/teams/{team_id}/meetings", response_model=Page[MeetingRead])
async def list_meetings(
    team_id: uuid.UUID,
    ctx: ContextDep,
    page: PageDep,
    status_: Annotated[MeetingStatus | None, Query(alias="status")] = None,
    from_: Annotated[Instant | None, Query(alias="from", description="RFC 3339")] = None,
    to: Annotated[Instant | None, Query(description="RFC 3339, exclusive")] = None,
) -> Page[MeetingRead]:
    """The team's meetings overlapping `[from, to)`, by start time."""
    rows, cursor = await service.list_meetings(
        ctx, team_id, page, status=status_, start=from_, end=to
    )
    return Page[MeetingRead](items=[_meeting(v) for v in rows], next_cursor=cursor)


@router.get("/meetings/{meeting_id}", response_model=MeetingRead)
async def get_meeting(meeting_id: uuid.UUID, ctx: ContextDep) -> MeetingRead:
    return _meeting(await service.get_meeting(ctx, meeting_id))


@router.patch("/meetings/{meeting_id}", response_model=MeetingRead)
async def update_meeting(
    meeting_id: uuid.UUID, body: MeetingUpdate, ctx: ContextDep
) -> MeetingRead:
    """The creator or a team admin; a completed or cancelled meeting: 409."""
    return _meeting(await service.update_meeting(ctx, meeting_id, body))


@router.delete("/meetings/{meeting_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_meeting(meeting_id: uuid.UUID, ctx: ContextDep) -> Response:
    """The creator or a team admin; a meeting in progress: 409 (end it first)."""
    await service.delete_meeting(ctx, meeting_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/meetings/{meeting_id}/start", response_model=MeetingRead)
async def start_meeting(meeting_id: uuid.UUID, ctx: ContextDep) -> MeetingRead:
    """scheduled → in_progress (else 409)."""
    return _meeting(await service.start_meeting(ctx, meeting_id))


@router.post("/meetings/{meeting_id}/end", response_model=MeetingRead)
async def end_meeting(meeting_id: uuid.UUID, ctx: ContextDep) -> MeetingRead:
    """in_progress → completed (else 409): everyone still in leaves then."""
    return _meeting(await service.end_meeting(ctx, meeting_id))


@router.post("/meetings/{meeting_id}/cancel", response_model=MeetingRead)
async def cancel_meeting(meeting_id: uuid.UUID, ctx: ContextDep) -> MeetingRead:
    """scheduled → cancelled (else 409)."""
    return _meeting(await service.cancel_meeting(ctx, meeting_id))


@router.post("/meetings/{meeting_id}/join", response_model=JoinRead)
async def join_meeting(meeting_id: uuid.UUID, ctx: ContextDep) -> JoinRead:
    """A team member joins (a scheduled meeting starts with its first join); a completed or
    cancelled meeting: 409. Joining again while in is the same stay."""
    result = await service.join_meeting(ctx, meeting_id)
    room, cred = result.room, result.credential
    return JoinRead(
        meeting_link=room.link,
        access_token=cred.access_token,
        join_url=cred.join_url,
        server_url=cred.server_url,
        provider=result.provider,
        room_name=room.name,
        participant=_participant(result.participant),
    )


@router.post("/meetings/{meeting_id}/leave", response_model=ParticipantRead)
async def leave_meeting(meeting_id: uuid.UUID, ctx: ContextDep) -> ParticipantRead:
    """`leave_time`, status `left`; the meeting completes when everyone has left for the grace
    period. Not joined: 409."""
    return _participant(await service.leave_meeting(ctx, meeting_id))


@router.get("/meetings/{meeting_id}/participants", response_model=ParticipantList)
async def list_participants(
    meeting_id: uuid.UUID, ctx: ContextDep, page: PageDep
) -> ParticipantList:
    rows, cursor = await service.list_participants(ctx, meeting_id, page)
    return ParticipantList(items=[_participant(p) for p in rows], next_cursor=cursor)


@router.post("/meetings/webhooks/{provider}", response_model=WebhookAnswer)
async def receive_webhook(
    provider: str,
    request: Request,
    ctx: ProviderContextDep,
    authorization: Annotated[str | None, Header()] = None,
) -> WebhookAnswer:
    """The provider's own signed webhook (LiveKit: `Authorization` is its JWT with the body's
    SHA-256); 401 on a bad signature; a redelivered event id changes nothing."""
    body = await request.body()
    outcome = await service.receive_webhook(ctx, provider, body, authorization)
    return WebhookAnswer(status=outcome)
