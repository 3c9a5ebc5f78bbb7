"""The SQL of delivery. Synchronous (a ``Session``): delivery runs inside the consumer's commit
(``before_commit``, set-based over a whole broker batch) and in the release job through
``AsyncSession.run_sync``. Every lookup takes a whole set of users in one statement."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Uuid,
    any_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from notifications.delivery.rules import FOCUS, Prefs
from notifications.models import (
    EmailBatch,
    FocusSession,
    Hold,
    KnownUser,
    Notification,
    Preference,
    table_of,
)

N = table_of(Notification)


def any_of(col: InstrumentedAttribute[Any] | Any, ids: Iterable[uuid.UUID]) -> ColumnElement[bool]:
    """``col = ANY(:ids)``: one array parameter, so one prepared statement whatever the count."""
    return col == any_(bindparam(None, list(ids), type_=ARRAY(Uuid)))


@dataclass(frozen=True, slots=True)
class UserInfo:
    username: str | None
    email: str | None
    timezone: str
    is_active: bool


def preferences(session: Session, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Prefs]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            Preference.user_id,
            Preference.channels,
            Preference.defer_during_focus,
            Preference.quiet_hours_start,
            Preference.quiet_hours_end,
        ).where(any_of(Preference.user_id, ids))
    )
    return {r[0]: Prefs.from_row(r[1], r[2], r[3], r[4]) for r in rows}


def users(session: Session, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, UserInfo]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            KnownUser.user_id,
            KnownUser.username,
            KnownUser.email,
            KnownUser.timezone,
            KnownUser.is_active,
        ).where(any_of(KnownUser.user_id, ids))
    )
    return {r[0]: UserInfo(r[1], r[2], r[3], r[4]) for r in rows}


def focus_until(
    session: Session, ids: Collection[uuid.UUID], now: datetime, grace: timedelta
) -> dict[uuid.UUID, datetime]:
    """Per user focusing now: when their running session ends at the latest (planned end +
    grace, when focus ends a session nobody stopped)."""
    if not ids:
        return {}
    rows = session.execute(
        select(FocusSession.user_id, func.max(FocusSession.planned_end_time))
        .where(
            any_of(FocusSession.user_id, ids),
            FocusSession.ended_at.is_(None),
            FocusSession.planned_end_time > now - grace,
        )
        .group_by(FocusSession.user_id)
    )
    return {r[0]: r[1] + grace for r in rows}


_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "uuid"),
    ("recipient_id", "uuid"),
    ("team_id", "uuid"),
    ("title", "text"),
    ("message", "text"),
    ("notification_type", "text"),
    ("kind", "text"),
    ("link", "text"),
    ("is_read", "boolean"),
    ("created_at", "timestamptz"),
    ("read_at", "timestamptz"),
    ("delivered_at", "timestamptz"),
    ("in_app", "boolean"),
    ("email", "boolean"),
    ("email_batch_id", "uuid"),
    ("actor_id", "uuid"),
    ("source_event_id", "uuid"),
    ("data", "jsonb"),
)
# one statement with one array per column, whatever the number of rows: prepared once per
# connection, and the driver encodes arrays in bulk (an executemany of 500 rows was most of the
# cost of a consumer batch)
_INSERT = text(
    f"INSERT INTO notifications ({', '.join(c for c, _ in _COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in _COLUMNS)
    + ")"
)


def insert_notifications(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    params: dict[str, list[Any]] = {c: [r[c] for r in rows] for c, _ in _COLUMNS}
    params["data"] = [orjson.dumps(d).decode() if d is not None else None for d in params["data"]]
    session.execute(_INSERT, params)


def upsert_holds(
    session: Session, holds: Mapping[uuid.UUID, tuple[str, datetime, datetime]]
) -> None:
    """Create or extend hold rows: ``release_at`` only moves earlier (the job re-evaluates then
    and reschedules if the user is still held); ``focus`` wins as the reason."""
    if not holds:
        return
    t = table_of(Hold)
    stmt = pg_insert(t).values(
        [
            {"user_id": u, "reason": reason, "since": since, "release_at": at}
            for u, (reason, since, at) in sorted(holds.items())  # a fixed lock order
        ]
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.user_id],
            set_={
                "release_at": func.least(t.c.release_at, stmt.excluded.release_at),
                "reason": case(
                    (or_(t.c.reason == FOCUS, stmt.excluded.reason == FOCUS), FOCUS),
                    else_=stmt.excluded.reason,
                ),
            },
        )
    )


# --- e-mail batches ------------------------------------------------------------------------


def open_batches(session: Session, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The pending mail of each user that nobody is sending right now (a batch the mail job has
    locked is being sent: skipped, so a new one is opened instead of adding to a sent one)."""
    if not ids:
        return {}
    rows = session.execute(
        select(EmailBatch.id, EmailBatch.user_id)
        .where(any_of(EmailBatch.user_id, ids), EmailBatch.status == "pending")
        .order_by(EmailBatch.user_id, EmailBatch.created_at)
        .with_for_update(skip_locked=True)
    )
    return {user_id: batch_id for batch_id, user_id in rows}


_NEW_BATCHES = text(
    "INSERT INTO email_batches (id, user_id, status, send_after, created_at)"
    " SELECT i, u, 'pending', s, c FROM unnest(CAST(:ids AS uuid[]), CAST(:users AS uuid[]),"
    " CAST(:send_after AS timestamptz[]), CAST(:created_at AS timestamptz[])) AS t(i, u, s, c)"
)


def create_batches(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(
            _NEW_BATCHES,
            {
                "ids": [r["id"] for r in rows],
                "users": [r["user_id"] for r in rows],
                "send_after": [r["send_after"] for r in rows],
                "created_at": [r["created_at"] for r in rows],
            },
        )


def hurry_batches(session: Session, ids: Collection[uuid.UUID], now: datetime) -> None:
    """An urgent notification's mail goes now, with whatever its batch already holds."""
    if ids:
        session.execute(
            update(EmailBatch)
            .where(any_of(EmailBatch.id, ids))
            .values(send_after=func.least(EmailBatch.send_after, now))
        )


def set_email_batch(session: Session, batch_of: Mapping[uuid.UUID, uuid.UUID]) -> None:
    """``notification id -> batch id`` for released notifications that go by mail."""
    by_batch: dict[uuid.UUID, list[uuid.UUID]] = {}
    for nid, bid in batch_of.items():
        by_batch.setdefault(bid, []).append(nid)
    for bid, nids in by_batch.items():
        session.execute(update(N).where(any_of(N.c.id, nids)).values(email_batch_id=bid))


# --- holds -----------------------------------------------------------------------------------


def claim_due_holds(session: Session, now: datetime, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Due holds, locked for this transaction; another replica's claim skips them."""
    rows = session.execute(
        select(Hold.user_id, Hold.reason)
        .where(Hold.release_at <= now)
        .order_by(Hold.release_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(r[0], r[1]) for r in rows]


def lock_hold(session: Session, user_id: uuid.UUID) -> str | None:
    """The user's hold reason, locked (waits for a release job holding it), or None."""
    return session.execute(
        select(Hold.reason).where(Hold.user_id == user_id).with_for_update()
    ).scalar_one_or_none()


def reschedule_hold(session: Session, user_id: uuid.UUID, at: datetime, reason: str) -> None:
    session.execute(
        update(Hold).where(Hold.user_id == user_id).values(release_at=at, reason=reason)
    )


def deliver_held(session: Session, user_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    """Deliver every held notification of the user (oldest first); their rows as they are."""
    rows = session.execute(
        update(N)
        .where(N.c.recipient_id == user_id, N.c.delivered_at.is_(None))
        .values(delivered_at=now)
        .returning(*N.c)
    )
    out = [dict(r._mapping) for r in rows]
    out.sort(key=lambda r: (r["created_at"], r["id"]))
    session.execute(delete(Hold).where(Hold.user_id == user_id))
    return out
