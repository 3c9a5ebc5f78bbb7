"""The SQL of delivery. Synchronous (a ``Session``): delivery runs inside the consumer's commit
(``before_commit``, set-based over a whole broker batch) and in the release job through
``AsyncSession.run_sync``. A delivery reads in one statement (:func:`recipients`: preferences,
profiles and focus of every recipient), locks its users' open mail (:func:`open_batches`, when
something goes by mail) and writes in one (:func:`write`: mail batches, notifications, holds,
outbox rows and the relay's wake-up), however many events the batch holds."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Uuid,
    any_,
    bindparam,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import InstrumentedAttribute, Session

from notifications.delivery.rules import DEFAULT_PREFS, FOCUS, Prefs
from notifications.models import (
    Hold,
    Notification,
    event_tables,
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


@dataclass(frozen=True, slots=True)
class Recipient:
    """What the rules need of one user: their preferences (the defaults when they never changed
    them), identity's profile (None for a user identity never told us about) and when their
    running focus session ends at the latest (None when not focusing)."""

    prefs: Prefs
    user: UserInfo | None
    focus_until: datetime | None


_LOOKUP = text(
    "SELECT u.id, p.user_id IS NOT NULL AS has_prefs, p.channels, p.defer_during_focus,"
    " p.quiet_hours_start, p.quiet_hours_end,"
    " k.user_id IS NOT NULL AS known, k.username, k.email, k.timezone, k.is_active,"
    " (SELECT max(f.planned_end_time) FROM focus_sessions AS f WHERE f.user_id = u.id"
    "  AND f.ended_at IS NULL AND f.planned_end_time > :since) AS focus_end"
    " FROM unnest(CAST(:ids AS uuid[])) AS u(id)"
    " LEFT JOIN notification_preferences AS p ON p.user_id = u.id"
    " LEFT JOIN known_users AS k ON k.user_id = u.id"
).columns(channels=JSONB)


def recipients(
    session: Session, ids: Collection[uuid.UUID], now: datetime, grace: timedelta
) -> dict[uuid.UUID, Recipient]:
    """Preferences, profile and focus of every user of ``ids``, in one statement. Focusing
    means a running session whose planned end plus ``grace`` (focus ends a session nobody
    stopped then) is after ``now``; ``focus_until`` is that moment."""
    if not ids:
        return {}
    rows = session.execute(_LOOKUP, {"ids": list(ids), "since": now - grace})
    out = {}
    for uid, has_prefs, channels, defer, q_start, q_end, known, name, mail, tz, active, end in rows:
        out[uid] = Recipient(
            Prefs.from_row(channels, defer, q_start, q_end) if has_prefs else DEFAULT_PREFS,
            UserInfo(name, mail, tz, active) if known else None,
            end + grace if end is not None else None,
        )
    return out


# --- what one delivery writes ------------------------------------------------------------


@dataclass(slots=True)
class Writes:
    """Everything one delivery (a consumer batch, a released hold) writes, for :func:`write`:
    notification rows (the columns of ``notifications``), holds (``user -> (reason, since,
    release_at)``), new e-mail batches, existing ones to send now (``hurry``), and the outbox
    payloads of its events."""

    notifications: list[dict[str, Any]] = field(default_factory=list)
    holds: dict[uuid.UUID, tuple[str, datetime, datetime]] = field(default_factory=dict)
    batches: list[dict[str, Any]] = field(default_factory=list)
    hurry: list[uuid.UUID] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


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
_NAMES = ", ".join(c for c, _ in _COLUMNS)
# One statement whatever the batch holds, so it is prepared once per connection. Each set of
# rows travels as ONE JSON parameter (orjson writes a batch's rows, UUIDs and times included, in
# one call; PostgreSQL parses them): a column-per-array insert cost the driver a Python-level
# check per element (the profile's ABCMeta.__instancecheck__), and one statement per table was
# one round trip each. Empty sets make their part a no-op. Sibling parts cannot see each
# other's rows; none needs to (new batches are not hurried, holds are per user). The outbox
# rows keep the payloads' order (``seq``); holds are written in user order (a fixed lock order).
# No parameter is typed ``jsonb`` (the dialect's jsonb encoder copies the string in Python; its
# json and text ones are C): the events arrive as text and are parsed once into jsonb, whose
# ``->>`` is cheap (on ``json`` each ``->>`` parses the element again: 19 ms a batch, not 11).
_WRITE = text(
    "WITH new_batches AS ("
    " INSERT INTO email_batches (id, user_id, status, send_after, created_at)"
    " SELECT b.id, b.user_id, 'pending', b.send_after, b.created_at"
    " FROM json_to_recordset(CAST(:batches AS json))"
    " AS b(id uuid, user_id uuid, send_after timestamptz, created_at timestamptz)"
    "), hurried AS ("
    " UPDATE email_batches SET send_after = least(send_after, CAST(:now AS timestamptz))"
    " WHERE id = ANY(CAST(:hurry AS uuid[]))"
    "), made AS ("
    f" INSERT INTO notifications ({_NAMES}) SELECT {_NAMES}"
    " FROM json_to_recordset(CAST(:notifications AS json))"
    f" AS n({', '.join(f'{c} {t}' for c, t in _COLUMNS)})"
    "), held AS ("
    " INSERT INTO holds (user_id, reason, since, release_at)"
    " SELECT h.user_id, h.reason, h.since, h.release_at FROM ROWS FROM (json_to_recordset("
    " CAST(:holds AS json)) AS (user_id uuid, reason text, since timestamptz,"
    " release_at timestamptz)) WITH ORDINALITY AS h(user_id, reason, since, release_at, i)"
    " ORDER BY h.i"
    " ON CONFLICT (user_id) DO UPDATE SET"
    " release_at = least(holds.release_at, excluded.release_at),"
    f" reason = CASE WHEN holds.reason = '{FOCUS}' OR excluded.reason = '{FOCUS}'"
    f" THEN '{FOCUS}' ELSE excluded.reason END"
    "), published AS ("
    f" INSERT INTO {event_tables.outbox.name} (id, type, subject, payload)"
    " SELECT CAST(e.p ->> 'id' AS uuid), e.p ->> 'type', e.p ->> 'subject', e.p"
    " FROM jsonb_array_elements(CAST(CAST(:events AS text) AS jsonb)) WITH ORDINALITY AS e(p, i)"
    " ORDER BY e.i RETURNING 1"
    ")"
    # the relay's wake-up, delivered at commit (as vc_common's add_event does), iff an event
    " SELECT pg_notify(CAST(:channel AS text), '') FROM (SELECT FROM published LIMIT 1) AS e"
)


def _json(value: Any) -> str:
    # ``default=str``: the driver's own UUID type (ids read back, e.g. an open mail batch's) is a
    # subclass orjson does not take as a UUID; its text is the same. A naive time is UTC, as the
    # driver took it (PostgreSQL would read it in the session's zone).
    return orjson.dumps(value, default=str, option=orjson.OPT_NAIVE_UTC).decode()


def write(session: Session, w: Writes, now: datetime, channel: str) -> None:
    """Write ``w`` in one statement (see :data:`_WRITE`); ``now`` is when a hurried mail goes,
    ``channel`` the relay's ``pg_notify`` channel."""
    if not (w.notifications or w.holds or w.batches or w.hurry or w.events):
        return
    session.execute(
        _WRITE,
        {
            "batches": _json(w.batches),
            "hurry": list(w.hurry),
            "now": now,
            "notifications": _json(w.notifications),
            "holds": _json(
                [
                    {"user_id": u, "reason": reason, "since": since, "release_at": at}
                    for u, (reason, since, at) in sorted(w.holds.items())
                ]
            ),
            "events": _json(w.events),
            "channel": channel,
        },
    )


# --- e-mail batches ------------------------------------------------------------------------


_OPEN_BATCHES = text(
    "SELECT id, user_id FROM email_batches"
    " WHERE user_id = ANY(CAST(:ids AS uuid[])) AND status = 'pending'"
    " ORDER BY user_id, created_at FOR UPDATE SKIP LOCKED"
)


def open_batches(session: Session, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The pending mail of each user that nobody is sending right now (a batch the mail job has
    locked is being sent: skipped, so a new one is opened instead of adding to a sent one)."""
    if not ids:
        return {}
    rows = session.execute(_OPEN_BATCHES, {"ids": list(ids)})
    return {user_id: batch_id for batch_id, user_id in rows}


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
