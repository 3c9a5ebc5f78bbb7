"""Writing events: :func:`add_event` puts a CloudEvent in the service's ``outbox`` table inside the
caller's transaction. It is published by the relay (:mod:`vc_common.events.relay`) after commit,
if and only if that commit happened. Never publish to the broker inside a request.

``add_event`` also issues ``pg_notify('outbox_<source>', '')`` in the same transaction: PostgreSQL
delivers it at commit (never on rollback, and several in one transaction collapse into one), so
the relay wakes at once instead of at its next poll.

Per-subject order is the order of ``seq``, assigned at insert: write the change to the aggregate
(which locks its row) *before* calling ``add_event``, so two transactions on the same aggregate
cannot interleave their events.

:func:`change_with_event` does both in one statement (the change, then its event iff the change
wrote a row): for a hot aggregate whose row lock every writer queues on, each round trip while
the lock is held is a round trip every other writer waits. :class:`ChangeWithEvent` is the same
for a change built once: nothing is built per call; :class:`PreparedChangeWithEvents`, for a
change built once that records several events, runs it as a prepared statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from opentelemetry.trace import Span, SpanKind
from sqlalchemy import (
    Delete,
    Insert,
    Row,
    Select,
    String,
    Update,
    bindparam,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from vc_common.db import PreparedWrite
from vc_common.events.envelope import CloudEvent
from vc_common.events.tables import EventTables
from vc_common.telemetry import current_traceparent, exporting, span_traceparent, tracer


async def add_event(
    session: AsyncSession,
    tables: EventTables,
    *,
    source: str,
    type: str,
    subject: str | uuid.UUID,
    data: dict[str, Any],
) -> CloudEvent:
    """Record one domain event in the outbox (same transaction as the change).

    When spans are exported the write is a PRODUCER span (``<type> create``) under the current
    one, and the event carries *its* context: the relay's publish and every consumer's handling
    hang below it in the trace of the request that caused the event."""
    with _event(source, type, subject, data) as event:
        params = _params(event)
        # One round trip per event, not two: the first event of a transaction carries the
        # pg_notify inside its INSERT (INSERT ... SELECT ... FROM (SELECT pg_notify(...))); the
        # next ones of the same transaction are plain inserts (PostgreSQL collapses the
        # notifications of a transaction into one anyway). Inside a savepoint we always notify:
        # rolling it back would take the notification with it.
        # Prepared by asyncpg on the session's connection, in its transaction (``PreparedWrite``):
        # through session.execute this insert was ~0.5 ms of CPU an event on every write path.
        if _notifies(session, source):
            await _prepared(tables, True).all(session, **params, channel=notify_channel(source))
        else:
            await _prepared(tables, False).all(session, **params)
    return event


async def change_with_event(
    session: AsyncSession,
    tables: EventTables,
    change: Insert | Update | Delete | Select[Any],
    *,
    source: str,
    type: str,
    subject: str | uuid.UUID,
    data: dict[str, Any],
) -> tuple[CloudEvent, Sequence[Row[Any]]]:
    """Execute ``change`` (a statement with ``RETURNING``, or a ``SELECT`` of the rows its
    data-modifying CTEs returned; its own CTEs, ``add_cte``, are hoisted) and, in the same
    statement, record the event iff ``change`` returned a row: one round trip instead of two,
    the order of :func:`add_event` (the change first). Returns the event and ``change``'s rows
    (none: nothing was written, no event recorded). A change built once, on a hot path:
    :class:`ChangeWithEvent`."""
    notify = _notifies(session, source)
    stmt = _with_events(tables, change, 1, notify=notify)  # only the form this call runs
    return await _run(session, stmt, notify, {}, source, type, subject, data)


class ChangeWithEvent:
    """:func:`change_with_event` for a change built once (module level, its values
    ``bindparam``): both forms of the statement (with the transaction's ``pg_notify``, and
    without) are built here, once, so a call builds no construct and the compile cache finds
    the same statement every time::

        JOIN = ChangeWithEvent(event_tables, join_statement)
        event, rows = await JOIN.execute(session, {"meeting_id": ...}, source=..., type=...,
                                         subject=..., data=...)

    The event's own parameters are named ``vc_event_*``; ``params`` are ``change``'s."""

    def __init__(self, tables: EventTables, change: Insert | Update | Delete | Select[Any]) -> None:
        self.statements = {n: _with_events(tables, change, 1, notify=n) for n in (False, True)}

    async def execute(
        self,
        session: AsyncSession,
        params: dict[str, Any],
        *,
        source: str,
        type: str,
        subject: str | uuid.UUID,
        data: dict[str, Any],
    ) -> tuple[CloudEvent, Sequence[Row[Any]]]:
        notify = _notifies(session, source)
        return await _run(
            session, self.statements[notify], notify, params, source, type, subject, data
        )


class PreparedChangeWithEvents:
    """A change built once and ``count`` events recorded with it, in the order given, in one
    statement run as a :class:`~vc_common.db.PreparedWrite` (no SQLAlchemy execution per call:
    ~60 µs of CPU instead of ~500): for a hot write that records several events at once (a
    task's move that also completes it: the change, two history rows, two events, one round
    trip). The events are recorded iff ``change`` returned a row, their ``seq`` in the order of
    ``events``; the first event of a transaction carries its ``pg_notify``, as with
    :func:`add_event`. ``change``: as for :func:`change_with_event`, its values ``bindparam``::

        MOVE = PreparedChangeWithEvents(event_tables, move_statement, 2)
        events, rows = await MOVE.execute(session, {"task_id": ...}, source="tasks",
                                          events=[(type, subject, data), (type, subject, data)])

    Rows are asyncpg records (by index or name), as :class:`~vc_common.db.Prepared` returns."""

    def __init__(
        self, tables: EventTables, change: Insert | Update | Delete | Select[Any], count: int
    ) -> None:
        if count < 1:
            raise ValueError("PreparedChangeWithEvents records at least one event")
        self.count = count
        self.statements = {
            n: PreparedWrite(_with_events(tables, change, count, notify=n)) for n in (False, True)
        }

    async def execute(
        self,
        session: AsyncSession,
        params: dict[str, Any],
        *,
        source: str,
        events: Sequence[tuple[str, str | uuid.UUID, dict[str, Any]]],
    ) -> tuple[list[CloudEvent], Sequence[Any]]:
        if len(events) != self.count:
            raise ValueError(f"this statement records {self.count} events, not {len(events)}")
        notify = _notifies(session, source)
        values = dict(params)
        if notify:
            values["vc_event_channel"] = notify_channel(source)
        with ExitStack() as spans:
            recorded = []
            for i, (type_, subject, data) in enumerate(events):
                event = spans.enter_context(_event(source, type_, subject, data))
                values.update(_event_values(i, event))
                recorded.append(event)
            rows = await self.statements[notify].all(session, **values)
        return recorded, rows


async def _run(
    session: AsyncSession,
    stmt: Select[Any],
    notify: bool,
    params: dict[str, Any],
    source: str,
    type: str,
    subject: str | uuid.UUID,
    data: dict[str, Any],
) -> tuple[CloudEvent, Sequence[Row[Any]]]:
    """Execute a statement of :func:`_with_events` for one event with its values bound."""
    with _event(source, type, subject, data) as event:
        values = {**params, **_event_values(0, event)}
        if notify:
            values["vc_event_channel"] = notify_channel(source)
        rows = (await session.execute(stmt, values)).all()
    return event, rows


def _with_events(
    tables: EventTables,
    change: Insert | Update | Delete | Select[Any],
    count: int,
    *,
    notify: bool,
) -> Select[Any]:
    """``change`` and, iff it returned a row, ``count`` outbox rows in their order (and the
    notification, once): the event ``i``'s values are the parameters ``vc_event_<i>_*``
    (:func:`_event_values`)."""
    c = tables.outbox.c
    changed = change.cte("changed")
    wrote: Any = select(literal(1).label("one")).select_from(changed).limit(1).subquery("wrote")
    if notify:
        channel = bindparam("vc_event_channel", type_=String)
        notified = select(func.pg_notify(channel, "").label("n")).subquery("notify")
        wrote = wrote.join(notified, true())
    wrote = select(literal(1).label("one")).select_from(wrote).cte("wrote_once")
    rows = [
        select(
            literal(i).label("ord"),
            bindparam(f"vc_event_{i}_id", type_=c.id.type).label("id"),
            bindparam(f"vc_event_{i}_type", type_=c.type.type).label("type"),
            bindparam(f"vc_event_{i}_subject", type_=c.subject.type).label("subject"),
            bindparam(f"vc_event_{i}_payload", type_=c.payload.type).label("payload"),
        ).select_from(wrote)
        for i in range(count)
    ]
    each = (union_all(*rows) if count > 1 else rows[0]).subquery("each")
    # seq follows the order the rows reach the insert: the events' order, said explicitly
    ordered = select(each.c.id, each.c.type, each.c.subject, each.c.payload).order_by(each.c.ord)
    recorded = insert(tables.outbox).from_select(["id", "type", "subject", "payload"], ordered)
    return select(changed).add_cte(recorded.cte("recorded"))


def _event_values(i: int, event: CloudEvent) -> dict[str, Any]:
    """The parameters of the ``i``-th event of a :func:`_with_events` statement."""
    return {
        f"vc_event_{i}_id": event.id,
        f"vc_event_{i}_type": event.type,
        f"vc_event_{i}_subject": event.subject,
        f"vc_event_{i}_payload": event.to_dict(),
    }


@contextmanager
def _event(
    source: str, type: str, subject: str | uuid.UUID, data: dict[str, Any]
) -> Iterator[CloudEvent]:
    """The event, under its PRODUCER span while it is written (when spans are exported)."""
    span: Span | None = None
    traceparent = current_traceparent()
    if exporting():
        span = tracer("vc.events").start_span(
            f"{type} create",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.operation": "create",
                "messaging.destination.name": type,
                "cloudevents.event_source": source,
                "cloudevents.event_subject": str(subject),
            },
        )
        traceparent = span_traceparent(span)
    try:
        event = CloudEvent(
            source=source, type=type, subject=str(subject), data=data, traceparent=traceparent
        )
        if span is not None:
            span.set_attribute("messaging.message.id", str(event.id))
        yield event
    finally:
        if span is not None:
            span.end()


def _params(event: CloudEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "subject": event.subject,
        "payload": event.to_dict(),
    }


def notify_channel(source: str) -> str:
    """The channel of the ``pg_notify`` that wakes ``source``'s relay at commit (for a
    statement that writes outbox rows itself, e.g. a batch of them)."""
    return f"outbox_{source}"


def _notifies(session: AsyncSession, source: str) -> bool:
    """Whether this event's write carries the ``pg_notify``: the first of the transaction does
    (and marks it), and every one inside a savepoint."""
    transaction = session.get_transaction()
    if session.in_nested_transaction() or transaction is None:
        return True
    key = f"vc.outbox.notified:{source}"
    if session.info.get(key) is transaction:
        return False
    session.info[key] = transaction
    return True


_prepared_statements: dict[tuple[int, bool], PreparedWrite] = {}


def _prepared(tables: EventTables, notify: bool) -> PreparedWrite:
    """:func:`add_event`'s insert (with the notification or without), built and prepared once."""
    key = (id(tables.outbox), notify)
    found = _prepared_statements.get(key)
    if found is None:
        c = tables.outbox.c
        values = select(
            bindparam("id", type_=c.id.type),
            bindparam("type", type_=c.type.type),
            bindparam("subject", type_=c.subject.type),
            bindparam("payload", type_=c.payload.type),
        )
        if notify:
            notified = select(func.pg_notify(bindparam("channel"), "").label("n"))
            values = values.select_from(notified.subquery("notify"))
        found = _prepared_statements[key] = PreparedWrite(
            insert(tables.outbox).from_select(["id", "type", "subject", "payload"], values)
        )
    return found
