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
for a change built once: nothing is built per call.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace import Span, SpanKind
from sqlalchemy import (
    Delete,
    FromClause,
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
)
from sqlalchemy.ext.asyncio import AsyncSession

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
        if _notifies(session, source):
            await session.execute(
                _insert_notifying(tables), {**params, "channel": _channel(source)}
            )
        else:
            await session.execute(_insert(tables), params)
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
    stmt = _with_event(tables, change, notify=notify)  # only the form this call runs
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
        self.statements = {n: _with_event(tables, change, notify=n) for n in (False, True)}

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
    """Execute a statement of :func:`_with_event` with the event's values bound."""
    with _event(source, type, subject, data) as event:
        values = {
            **params,
            "vc_event_id": event.id,
            "vc_event_type": event.type,
            "vc_event_subject": event.subject,
            "vc_event_payload": event.to_dict(),
        }
        if notify:
            values["vc_event_channel"] = _channel(source)
        rows = (await session.execute(stmt, values)).all()
    return event, rows


def _with_event(
    tables: EventTables, change: Insert | Update | Delete | Select[Any], *, notify: bool
) -> Select[Any]:
    """``change`` and, iff it returned a row, the outbox row (and the notification)."""
    c = tables.outbox.c
    changed = change.cte("changed")
    wrote: FromClause = (
        select(literal(1).label("one")).select_from(changed).limit(1).subquery("wrote")
    )
    if notify:
        channel = bindparam("vc_event_channel", type_=String)
        notified = select(func.pg_notify(channel, "").label("n")).subquery("notify")
        wrote = wrote.join(notified, true())
    values = select(
        bindparam("vc_event_id", type_=c.id.type),
        bindparam("vc_event_type", type_=c.type.type),
        bindparam("vc_event_subject", type_=c.subject.type),
        bindparam("vc_event_payload", type_=c.payload.type),
    ).select_from(wrote)
    recorded = insert(tables.outbox).from_select(["id", "type", "subject", "payload"], values)
    return select(changed).add_cte(recorded.cte("recorded"))


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


def _channel(source: str) -> str:
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


_statements: dict[tuple[int, bool], Insert] = {}


def _values(tables: EventTables) -> list[Any]:
    c = tables.outbox.c
    return [
        bindparam("id", type_=c.id.type),
        bindparam("type", type_=c.type.type),
        bindparam("subject", type_=c.subject.type),
        bindparam("payload", type_=c.payload.type),
    ]


def _insert(tables: EventTables) -> Insert:
    key = (id(tables.outbox), False)
    if key not in _statements:
        _statements[key] = insert(tables.outbox).from_select(
            ["id", "type", "subject", "payload"], select(*_values(tables))
        )
    return _statements[key]


def _insert_notifying(tables: EventTables) -> Insert:
    key = (id(tables.outbox), True)
    if key not in _statements:
        notify = select(func.pg_notify(bindparam("channel"), "").label("n")).subquery("notify")
        _statements[key] = insert(tables.outbox).from_select(
            ["id", "type", "subject", "payload"], select(*_values(tables)).select_from(notify)
        )
    return _statements[key]
