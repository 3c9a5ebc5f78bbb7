"""Builders of the events analytics consumes, in the shapes their producers write."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from vc_common.ids import uuid7


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def task_completed(
    team_id: uuid.UUID,
    actor: uuid.UUID,
    at: datetime,
    *,
    assignee: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "task_id": str(task_id or uuid7()),
        "board_id": str(uuid7()),
        "team_id": str(team_id),
        "column_id": str(uuid7()),
        "title": "Ship it",
        "assignee_id": str(assignee) if assignee else None,
        "priority": "medium",
        "due_date": None,
        "user_id": str(actor),
        "completed_at": iso(at),
    }


def task_reopened(
    team_id: uuid.UUID, actor: uuid.UUID, at: datetime, task_id: uuid.UUID, previous: datetime
) -> dict[str, Any]:
    return {
        "task_id": str(task_id),
        "board_id": str(uuid7()),
        "team_id": str(team_id),
        "column_id": str(uuid7()),
        "title": "Ship it",
        "assignee_id": None,
        "priority": "medium",
        "due_date": None,
        "user_id": str(actor),
        "reopened_at": iso(at),
        "previous_completed_at": iso(previous),
    }


def focus_ended(
    user_id: uuid.UUID,
    start: datetime,
    minutes: int,
    minutes_by_day: dict[str, int],
    *,
    team_id: uuid.UUID | None = None,
    timezone: str = "UTC",
) -> dict[str, Any]:
    end = start + timedelta(minutes=minutes)
    return {
        "session_id": str(uuid7()),
        "user_id": str(user_id),
        "team_id": str(team_id) if team_id else None,
        "task_id": None,
        "focus_type": "custom",
        "start_time": iso(start),
        "planned_end_time": iso(end),
        "end_time": iso(end),
        "planned_minutes": minutes,
        "actual_minutes": minutes,
        "is_completed": True,
        "interruptions": 0,
        "minutes_by_day": minutes_by_day,
        "timezone": timezone,
        "minutes": minutes,
        "ended_by": "user",
    }


def message_posted(team_id: uuid.UUID, user_id: uuid.UUID, at: datetime) -> dict[str, Any]:
    return {
        "message_id": str(uuid7()),
        "room_id": str(uuid7()),
        "team_id": str(team_id),
        "user_id": str(user_id),
        "timestamp": iso(at),
    }


def meeting_ended(
    team_id: uuid.UUID, meeting_id: uuid.UUID, host: uuid.UUID, at: datetime
) -> dict[str, Any]:
    """``meetings.meeting.ended`` as meetings writes it (contracts/events)."""
    return {
        "meeting_id": str(meeting_id),
        "team_id": str(team_id),
        "user_id": str(host),
        "title": "Standup",
        "description": "",
        "start_time": iso(at - timedelta(minutes=30)),
        "end_time": iso(at),
        "status": "completed",
        "created_by_id": str(host),
        "provider": "jitsi",
        "meeting_link": f"https://meet.jit.si/vc-{meeting_id.hex}",
        "recording_url": None,
        "started_at": iso(at - timedelta(minutes=30)),
        "ended_at": iso(at),
        "participant_ids": [str(host)],
        "attendee_ids": [str(host)],
        "ended_by": "user",
    }


def participant_joined(
    team_id: uuid.UUID, meeting_id: uuid.UUID, user_id: uuid.UUID, at: datetime
) -> dict[str, Any]:
    """``meetings.participant.joined`` as meetings writes it (contracts/events)."""
    return {
        "meeting_id": str(meeting_id),
        "team_id": str(team_id),
        "user_id": str(user_id),
        "joined_at": iso(at),
        "first_join": True,
        "source": "user",
    }
