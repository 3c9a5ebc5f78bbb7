from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select
from vc_common.auth import CurrentUser
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep, paginate
from vc_common.uow import SessionDep

from tasks import access
from tasks.boards import service
from tasks.boards.schemas import (
    BoardCreate,
    BoardDetail,
    BoardRead,
    BoardUpdate,
    ColumnCreate,
    ColumnRead,
    ColumnUpdate,
)
from tasks.cursors import parse_timestamp
from tasks.models import Board

router = APIRouter(prefix="/api/v1", tags=["boards"], responses=PROBLEM_RESPONSES)


@router.post(
    "/teams/{team_id}/boards", status_code=status.HTTP_201_CREATED, response_model=BoardRead
)
async def create_board(
    team_id: uuid.UUID,
    body: BoardCreate,
    admin: access.TeamAdmin,
    user: CurrentUser,
    session: SessionDep,
    response: Response,
) -> BoardRead:
    """A new board with the columns To do, In progress and Done (admins)."""
    del admin
    board = await service.create_board(session, team_id, user, body)
    response.headers["Location"] = f"/api/v1/boards/{board.id}"
    return BoardRead.model_validate(board)


@router.get("/teams/{team_id}/boards", response_model=Page[BoardRead])
async def list_boards(
    team_id: uuid.UUID, member: access.TeamMember, session: SessionDep, page: PageDep
) -> Page[BoardRead]:
    del member
    rows, cursor = await paginate(
        session,
        select(Board).where(Board.team_id == team_id),
        page,
        keys=[Board.created_at, Board.id],
        convert=[parse_timestamp, uuid.UUID],
    )
    return Page(items=[BoardRead.model_validate(b) for b in rows], next_cursor=cursor)


@router.get("/boards/{board_id}", response_model=BoardDetail)
async def get_board(
    board_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> BoardDetail:
    """The whole board: columns in order, each with its tasks in position."""
    return await service.board_detail(session, request, user, board_id)


@router.patch("/boards/{board_id}", response_model=BoardRead)
async def update_board(
    board_id: uuid.UUID, body: BoardUpdate, user: CurrentUser, session: SessionDep, request: Request
) -> BoardRead:
    board = await service.visible_board(session, request, user, board_id, access.ADMIN)
    return BoardRead.model_validate(await service.update_board(session, board, body))


@router.delete("/boards/{board_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_board(
    board_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> Response:
    board = await service.visible_board(session, request, user, board_id, access.ADMIN)
    await service.delete_board(session, board)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/boards/{board_id}/columns", status_code=status.HTTP_201_CREATED, response_model=ColumnRead
)
async def create_column(
    board_id: uuid.UUID,
    body: ColumnCreate,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    response: Response,
) -> ColumnRead:
    board = await service.visible_board(session, request, user, board_id, access.ADMIN)
    column = await service.create_column(session, board, user, body)
    response.headers["Location"] = f"/api/v1/columns/{column.id}"
    return ColumnRead.model_validate(column)


@router.get("/columns/{column_id}", response_model=ColumnRead)
async def get_column(
    column_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> ColumnRead:
    column, _ = await service.visible_column(session, request, user, column_id)
    return ColumnRead.model_validate(column)


@router.patch("/columns/{column_id}", response_model=ColumnRead)
async def update_column(
    column_id: uuid.UUID,
    body: ColumnUpdate,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
) -> ColumnRead:
    column, board = await service.visible_column(session, request, user, column_id, access.ADMIN)
    column = await service.update_column(session, column, board, user, body)
    return ColumnRead.model_validate(column)


@router.delete("/columns/{column_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_column(
    column_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> Response:
    column, board = await service.visible_column(session, request, user, column_id, access.ADMIN)
    await service.delete_column(session, column, board)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
