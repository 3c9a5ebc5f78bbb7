"""Routes of boards and columns: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep
from vc_common.uow import snapshot

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

router = APIRouter(prefix="/api/v1", tags=["boards"], responses=PROBLEM_RESPONSES)


@router.post(
    "/teams/{team_id}/boards", status_code=status.HTTP_201_CREATED, response_model=BoardDetail
)
async def create_board(
    team_id: uuid.UUID, body: BoardCreate, ctx: ContextDep, response: Response
) -> BoardDetail:
    """A new board with the columns To do, In progress and Done (admins), answered as
    ``GET /boards/{id}`` reads it, so a client needs no second request for the columns."""
    board = await service.create_board(ctx, team_id, body)
    response.headers["Location"] = f"/api/v1/boards/{board.id}"
    return board


@router.get("/teams/{team_id}/boards", response_model=Page[BoardRead])
async def list_boards(team_id: uuid.UUID, ctx: ContextDep, page: PageDep) -> Page[BoardRead]:
    rows, cursor = await service.list_boards(ctx, team_id, page)
    return Page(items=[BoardRead.model_validate(b) for b in rows], next_cursor=cursor)


@router.get("/boards/{board_id}", response_model=BoardDetail)
@snapshot  # board, columns and tasks are read by separate statements: one snapshot for all
async def get_board(board_id: uuid.UUID, ctx: ContextDep) -> BoardDetail:
    """The whole board: columns in order, each with its tasks in position."""
    return await service.board_detail(ctx, board_id)


@router.patch("/boards/{board_id}", response_model=BoardRead)
async def update_board(board_id: uuid.UUID, body: BoardUpdate, ctx: ContextDep) -> BoardRead:
    return BoardRead.model_validate(await service.update_board(ctx, board_id, body))


@router.delete("/boards/{board_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_board(board_id: uuid.UUID, ctx: ContextDep) -> Response:
    await service.delete_board(ctx, board_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/boards/{board_id}/columns", status_code=status.HTTP_201_CREATED, response_model=ColumnRead
)
async def create_column(
    board_id: uuid.UUID, body: ColumnCreate, ctx: ContextDep, response: Response
) -> ColumnRead:
    column = await service.create_column(ctx, board_id, body)
    response.headers["Location"] = f"/api/v1/columns/{column.id}"
    return ColumnRead.model_validate(column)


@router.get("/columns/{column_id}", response_model=ColumnRead)
async def get_column(column_id: uuid.UUID, ctx: ContextDep) -> ColumnRead:
    return ColumnRead.model_validate(await service.get_column(ctx, column_id))


@router.patch("/columns/{column_id}", response_model=ColumnRead)
async def update_column(column_id: uuid.UUID, body: ColumnUpdate, ctx: ContextDep) -> ColumnRead:
    return ColumnRead.model_validate(await service.update_column(ctx, column_id, body))


@router.delete("/columns/{column_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_column(column_id: uuid.UUID, ctx: ContextDep) -> Response:
    await service.delete_column(ctx, column_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
