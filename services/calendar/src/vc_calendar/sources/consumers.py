"""Deadlines from tasks' events, meetings from meetings' events.

Tasks (``contracts/events/tasks.task.*``): every event carries the task's snapshot (``team_id,
title, assignee_id, due_date``...). ``created``, ``updated``, ``assigned`` (and ``moved``) set it;
``completed`` / ``reopened`` (and ``moved``'s ``is_completed``) set whether it is done;
``deleted`` leaves a tombstone. The snapshot and the completion are each guarded by the time of
the event that set them, so an older event applied late (a retried delivery) never undoes a
newer one, and nothing revives a deleted task. An event without ``due_date`` (an older producer)
keeps the known one.

Meetings (the CONTRACT shape, until the meetings service publishes its schemas):
``meetings.meeting.scheduled`` / ``.updated`` carry ``meeting_id, team_id, title, start_time,
end_time, participant_ids``; ``.cancelled`` removes the meeting from the calendar for good. Fields
an ``updated`` event leaves out keep their values.

External calendars (``contracts/events/integrations.calendar_event.*``): ``imported`` sets the
user's copy of a Google event (one whose ``calendar_event_id`` is set is the echo of one of our
own events, pushed by integrations, and is not imported twice); ``removed`` takes it away;
``integrations.integration.disconnected`` takes away every event of that integration. Each row
is guarded by the time of the event that last set it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context
from vc_common.events.envelope import CloudEvent

from vc_calendar.models import ImportedEvent, MeetingItem, membership
from vc_calendar.sources import repository

log = logging.getLogger("calendar.sources")

TASK_SNAPSHOT_EVENTS = (
    "tasks.task.created",
    "tasks.task.updated",
    "tasks.task.assigned",
    "tasks.task.moved",
    "tasks.task.completed",
    "tasks.task.reopened",
    "tasks.task.deleted",
)
IMPORT_EVENTS = (
    "integrations.calendar_event.imported",
    "integrations.calendar_event.removed",
    "integrations.integration.disconnected",
)
MEETING_EVENTS = (
    "meetings.meeting.scheduled",
    "meetings.meeting.updated",
    "meetings.meeting.cancelled",
)


def _uuid(value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return date.fromisoformat(str(value)[:10])


def _instant(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else None


def _completion(event: CloudEvent) -> bool | None:
    """What the event says about the task being done (None: nothing)."""
    if event.type == "tasks.task.completed":
        return True
    if event.type == "tasks.task.reopened":
        return False
    if event.type == "tasks.task.moved" and "is_completed" in event.data:
        return bool(event.data["is_completed"])
    if event.type == "tasks.task.created":
        return False  # created in a done column: `completed` follows in the same transaction
    return None


async def on_task_events(ctx: Context, batch: list[CloudEvent]) -> None:
    """A run of tasks' events, in delivery order (``Consumer.on_batch``): the rules of the module
    docstring, event by event, in four statements whatever the run's length (the deleted teams
    among the run's, the rows of the tasks new here inserted from their first event, every
    task's row locked in id order, the changes flushed). One at a time, through the ORM, a task
    event was ~6 ms of calendar's CPU: every move on a board paid it."""
    session = ctx.session
    runs: list[tuple[CloudEvent, uuid.UUID, dict[str, Any], bool | None]] = []
    for event in batch:
        data = event.data
        task_id, team_id = _uuid(data.get("task_id") or event.subject), _uuid(data.get("team_id"))
        if task_id is None or team_id is None:
            log.warning("%s %s without task_id/team_id ignored", event.type, event.id)
            continue
        snapshot: dict[str, Any] = {"team_id": team_id, "title": str(data.get("title") or "")[:500]}
        if "board_id" in data:
            snapshot["board_id"] = _uuid(data["board_id"])
        if "assignee_id" in data:
            snapshot["assignee_id"] = _uuid(data["assignee_id"])
        if "due_date" in data:
            snapshot["due_date"] = _date(data["due_date"])
        runs.append((event, task_id, snapshot, _completion(event)))
    deleted = await membership.deleted_among(session, {s["team_id"] for _, _, s, _ in runs})
    runs = [r for r in runs if r[2]["team_id"] not in deleted]
    if not runs:
        return
    initial: dict[uuid.UUID, dict[str, Any]] = {}
    for event, task_id, snapshot, done in runs:
        initial.setdefault(
            task_id,
            {
                **snapshot,
                "is_completed": bool(done),
                "deleted": event.type == "tasks.task.deleted",
                "source_time": event.time,
                "completion_time": event.time,
            },
        )
    created = await repository.insert_deadlines(session, initial)
    rows = await repository.locked_deadlines(session, list(initial))
    for event, task_id, snapshot, done in runs:
        if task_id in created:  # this event made the row: the ones after it apply
            created.discard(task_id)
            continue
        _apply(rows[task_id], event, snapshot, done)


def _apply(row: Any, event: CloudEvent, snapshot: dict[str, Any], done: bool | None) -> None:
    """One task event on the task's row (its snapshot and its completion, each only when the
    event is newer than the one that set it; nothing revives a deleted task)."""
    if row.deleted:
        return
    if event.type == "tasks.task.deleted":
        row.deleted = True
        return
    when = event.time
    if when >= row.source_time:
        for key, value in snapshot.items():
            setattr(row, key, value)
        row.source_time = when
    if done is not None and when >= row.completion_time:
        row.is_completed = done
        row.completion_time = when


async def on_meeting_event(ctx: Context, event: CloudEvent) -> None:
    data = event.data
    meeting_id = _uuid(data.get("meeting_id") or event.subject)
    if meeting_id is None:
        log.warning("%s %s without meeting_id ignored", event.type, event.id)
        return
    session = ctx.session
    team_id = _uuid(data.get("team_id"))
    if team_id is not None and await membership.is_deleted(session, team_id):
        return
    row = await repository.locked_meeting(session, meeting_id)
    cancelled = event.type == "meetings.meeting.cancelled"
    fields: dict[str, Any] = {}
    if "team_id" in data:
        fields["team_id"] = team_id
    if data.get("title"):
        fields["title"] = str(data["title"])[:500]
    for key in ("start_time", "end_time"):
        if data.get(key):
            fields[key] = _instant(data[key])
    if isinstance(data.get("participant_ids"), list):
        fields["participant_ids"] = [
            u for u in (_uuid(p) for p in data["participant_ids"]) if u is not None
        ]
    if row is None:
        if not cancelled and not {"start_time", "end_time"} <= fields.keys():
            log.warning("%s %s without start_time/end_time ignored", event.type, meeting_id)
            return
        session.add(
            MeetingItem(
                meeting_id=meeting_id,
                team_id=fields.get("team_id"),
                title=fields.get("title", "Meeting"),
                start_time=fields.get("start_time") or event.time,
                end_time=fields.get("end_time") or event.time,
                participant_ids=fields.get("participant_ids", []),
                cancelled=cancelled,
                source_time=event.time,
            )
        )
        return
    if row.cancelled:
        return  # a cancelled meeting never comes back
    if cancelled:
        row.cancelled = True
        return
    if event.time < row.source_time:
        return
    for key, value in fields.items():
        if value is not None:
            setattr(row, key, value)
    if row.end_time < row.start_time:
        row.end_time = row.start_time
    row.source_time = event.time


# one stable id per (integration, external id): the range query's item id
_IMPORTED = uuid.UUID("6f1d3c1e-6c1b-4be5-9d0a-6a7f0b1c9e21")


async def on_import_event(ctx: Context, event: CloudEvent) -> None:
    data, session = event.data, ctx.session
    integration_id = _uuid(data.get("integration_id") or event.subject)
    if integration_id is None:
        log.warning("%s %s without integration_id ignored", event.type, event.id)
        return
    if event.type == "integrations.integration.disconnected":
        await repository.forget_integration(session, integration_id)
        return
    user_id, external_id = _uuid(data.get("user_id")), str(data.get("external_id") or "")
    if user_id is None or not external_id:
        log.warning("%s %s without user_id/external_id ignored", event.type, event.id)
        return
    start, end = _instant(data.get("start_time")), _instant(data.get("end_time"))
    removed = (
        event.type == "integrations.calendar_event.removed"
        or data.get("calendar_event_id") is not None  # our own event's echo: shown once already
        or start is None
    )
    row = await repository.locked_import(session, integration_id, external_id)
    if row is not None and event.time < row.source_time:
        return  # a newer event already set this one
    if removed:
        if row is not None:
            row.removed, row.source_time = True, event.time
        return
    assert start is not None
    fields: dict[str, Any] = {
        "user_id": user_id,
        "integration_type": str(data.get("integration_type") or "google_calendar")[:32],
        "title": str(data.get("title") or "")[:500] or "(no title)",
        "description": str(data.get("description") or ""),
        "location": (str(data["location"])[:500] or None) if data.get("location") else None,
        "start_time": start,
        "end_time": max(end or start, start),
        "is_all_day": bool(data.get("is_all_day")),
        "removed": False,
        "source_time": event.time,
    }
    if row is None:
        session.add(
            ImportedEvent(
                integration_id=integration_id,
                external_id=external_id,
                id=uuid.uuid5(_IMPORTED, f"{integration_id}/{external_id}"),
                **fields,
            )
        )
        return
    for key, value in fields.items():
        setattr(row, key, value)


async def forget_team(session: AsyncSession, team_id: uuid.UUID) -> None:
    await repository.forget_team(session, team_id)
