"""Writing the stream: entries appended during a transaction are numbered and inserted just
before it commits, and handed to the replica's publisher just after (never after a rollback).

``append(session, event, route, publisher)`` only remembers the entry. In ``before_commit`` every
entry of the transaction takes its seq with one ``UPDATE stream_state`` (the row lock that keeps
seqs dense and in commit order, held from there to the commit) and is inserted in one statement;
in ``after_commit`` the numbered items go to the publisher (the replica's hub), in commit order.
A consumer batch of a hundred events is two statements, not two hundred.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from vc_common.events.envelope import CloudEvent

from realtime.stream import repository
from realtime.stream.repository import Item
from realtime.stream.routing import Route

log = logging.getLogger("realtime.stream")

Publisher = Callable[[list[Item]], None]

_PENDING = "realtime_stream_pending"
_DONE = "realtime_stream_done"
_PUBLISHER = "realtime_stream_publisher"


@dataclass(slots=True)
class _Pending:
    event: CloudEvent
    route: Route


def append(
    session: AsyncSession, event: CloudEvent, route: Route, publisher: Publisher | None
) -> None:
    """Remember the entry; ``publisher`` gets it after the commit (None: the replicas' catch-up
    reads it from the table)."""
    sync = session.sync_session
    if not sa_event.contains(sync, "before_commit", _before_commit):
        sa_event.listen(sync, "before_commit", _before_commit)
        sa_event.listen(sync, "after_commit", _after_commit)
        sa_event.listen(sync, "after_rollback", _forget)
        sa_event.listen(sync, "after_soft_rollback", _forget)
    pending: list[_Pending] = sync.info.setdefault(_PENDING, [])
    pending.append(_Pending(event, route))
    if publisher is not None:
        sync.info[_PUBLISHER] = publisher


def _before_commit(session: Session) -> None:
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if not pending:
        return
    last = repository.take_seqs(session, len(pending))
    first = last - len(pending) + 1
    rows: list[dict[str, Any]] = []
    items: list[Item] = []
    for seq, p in enumerate(pending, start=first):
        r = p.route
        rows.append(
            {
                "seq": seq,
                "event_id": p.event.id,
                "event_type": p.event.type,
                "event_time": p.event.time,
                "team_id": r.team_id,
                "recipient_id": r.recipient_id,
                "change": r.change,
                "frame": r.frame,
            }
        )
        items.append(
            (
                seq,
                str(r.team_id) if r.team_id else None,
                str(r.recipient_id) if r.recipient_id else None,
                r.change,
                r.frame,
            )
        )
    repository.insert_entries(session, rows)
    done: list[Item] = session.info.setdefault(_DONE, [])
    done.extend(items)


def _after_commit(session: Session) -> None:
    items: list[Item] = session.info.pop(_DONE, [])
    if not items:
        return
    publisher: Publisher | None = session.info.get(_PUBLISHER)
    if publisher is None:
        log.debug("no publisher: %d stream entries left to the replicas' catch-up", len(items))
        return
    try:
        publisher(items)
    except Exception:
        log.exception("handing %d committed stream entries to the publisher failed", len(items))


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_DONE, None)
