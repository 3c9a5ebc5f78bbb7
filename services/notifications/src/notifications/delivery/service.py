"""Delivery: drafts become notifications, delivered now or held, and holds are released.

**In the consumer's transaction.** Handlers only describe what an event means for whom
(:class:`~notifications.delivery.rules.Draft`) and :func:`notify` buffers it on the session.
Just before the transaction commits (SQLAlchemy ``before_commit``, still inside it), every
buffered draft of the transaction (a whole broker batch) is delivered set-based by
:func:`deliver`: one lookup of every recipient's preferences, profile and focus, one lock of
their open mail (when something goes by mail) and one statement writing the notifications, holds,
mail batches and outbox rows, however large the batch. So the inbox row of each event, its
notifications, their holds, mails and ``delivered`` events commit together, exactly once.
A handler that changes what later drafts depend on (a focus session starting or ending, a
timezone) calls :func:`flush_now` first: earlier events of the batch are judged as they were.

**Holds.** A held notification (``delivered_at`` NULL) always has its user's ``holds`` row,
written in the same transaction, with ``release_at``: the planned end of the focus session plus
grace (when focus would auto-end it) or the end of the quiet hours. The hold ends by
:func:`end_focus` (``focus.session.ended``, at once) or by the release job
(:func:`release_due`, every few seconds): ``SELECT ... FOR UPDATE SKIP LOCKED`` over due rows,
so two replicas never release the same user, and each user is re-judged (still focusing? in quiet
hours now?) before being released. A release delivers the held notifications as they were (same
id, title, ``created_at``), writes their ``delivered`` events and mails, and adds one digest, in
one transaction with the deletion of the hold row: a crash at any line leaves the hold as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import uuid_utils
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from vc_common.context import Context
from vc_common.ids import uuid7
from vc_common.telemetry import current_traceparent

from notifications import events
from notifications.delivery import repository as repo
from notifications.delivery.rules import (
    DEFAULT_PREFS,
    FOCUS,
    Draft,
    Policy,
    hold_for,
    hold_state,
)
from notifications.kinds import ANY_CHANNEL, DIGEST, Channels, summary

_PENDING = "notifications.pending"
_POLICY = "notifications.policy"

TITLE_MAX = 200
SOMEONE = "Someone"
#: a recipient the lookup did not return (it returns every id it is given)
NOBODY = repo.Recipient(DEFAULT_PREFS, None, None)


# --- buffering -------------------------------------------------------------------------------


async def notify(ctx: Context, drafts: Iterable[Draft]) -> None:
    """Deliver ``drafts`` when the unit of work commits (with the rest of its batch)."""
    drafts = list(drafts)
    if not drafts:
        return
    session = ctx.session
    pending: list[Draft] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        session.info[_POLICY] = Policy.of(ctx.settings)
        sa_event.listen(session.sync_session, "before_commit", _before_commit, once=True)
    pending.extend(drafts)


def _before_commit(session: Session) -> None:
    flush_pending(session)


def flush_pending(session: Session) -> None:
    drafts: list[Draft] = session.info.pop(_PENDING, None) or []
    policy: Policy = session.info.pop(_POLICY, None) or Policy()
    if drafts:
        deliver(session, drafts, policy)


async def flush_now(session: AsyncSession) -> None:
    """Deliver what is buffered now (before a change that must not affect earlier events).
    The ``before_commit`` listener stays registered and finds nothing left, or what later
    handlers buffer after this."""
    if not session.info.get(_PENDING):
        return
    drafts: list[Draft] = session.info[_PENDING]
    policy: Policy = session.info.get(_POLICY) or Policy()
    session.info[_PENDING] = []
    await session.run_sync(deliver, drafts, policy)


# --- delivering drafts -----------------------------------------------------------------------


def _new_id() -> str:
    """A UUIDv7 as text: rows travel to PostgreSQL as JSON, where an id is text anyway
    (``vc_common.ids.uuid7``'s standard-library UUID costs 4 µs to make and 2 µs to print)."""
    return str(uuid_utils.uuid7())


def _row(d: Draft, message: str) -> dict[str, Any]:
    return {
        "id": _new_id(),
        "recipient_id": d.recipient_id,
        "team_id": d.team_id,
        "title": d.title[:TITLE_MAX],
        "message": message,
        "notification_type": d.notification_type,
        "kind": d.kind,
        "link": d.link,
        "is_read": False,
        "created_at": d.created_at,
        "read_at": None,
        "delivered_at": None,
        "in_app": True,
        "email": False,
        "email_batch_id": None,
        "actor_id": d.actor_id,
        "source_event_id": d.source_event_id,
        "data": None,
    }


def deliver(session: Session, drafts: list[Draft], policy: Policy) -> int:
    """Turn drafts into notifications (see the module docstring); how many were made. Three
    statements whatever the number of drafts: one lookup of every recipient and named actor,
    their open mail (when something goes by mail) and one write."""
    # the actor is never notified of their own action
    drafts = [d for d in drafts if d.actor_id is None or d.actor_id != d.recipient_id]
    if not drafts:
        return 0
    named = {d.actor_id for d in drafts if d.name_actor and d.actor_id is not None}
    now = max(d.created_at for d in drafts)
    known = repo.recipients(session, {d.recipient_id for d in drafts} | named, now, policy.grace)

    w = repo.Writes()
    trace, stamp = current_traceparent(), events.ts(datetime.now(UTC))
    holds = w.holds
    mail: dict[uuid.UUID, list[dict[str, Any]]] = {}
    urgent_mail: set[uuid.UUID] = set()
    channels_of: dict[tuple[uuid.UUID, str], Channels] = {}
    for d in drafts:
        r = known.get(d.recipient_id) or NOBODY
        user = r.user
        if user is not None and not user.is_active:
            continue  # a deactivated account reads nothing
        key = (d.recipient_id, d.kind)
        wanted = channels_of.get(key)
        if wanted is None:
            wanted = channels_of[key] = r.prefs.channels_for(d.kind)
        channels = wanted if d.allowed is ANY_CHANNEL else wanted & d.allowed
        if not channels.any:
            continue
        message = d.message
        if d.name_actor:
            actor = known.get(d.actor_id) if d.actor_id is not None else None
            username = actor.user.username if actor and actor.user else None
            message = f"{username or SOMEONE} {message}"
        row = _row(d, message)
        row["in_app"], row["email"] = channels.in_app, channels.email
        w.notifications.append(row)
        held = hold_for(d, r.prefs, user.timezone if user else None, r.focus_until, d.created_at)
        if held is not None:
            reason, until = held
            prev = holds.get(d.recipient_id)
            if prev is not None:
                reason = FOCUS if FOCUS in (reason, prev[0]) else reason
                until = min(until, prev[2])
            holds[d.recipient_id] = (reason, prev[1] if prev else d.created_at, until)
            continue
        row["delivered_at"] = d.created_at
        if channels.in_app:
            w.events.append(events.delivered(row, was_held=False, traceparent=trace, time=stamp))
        if channels.email:
            mail.setdefault(d.recipient_id, []).append(row)
            if d.urgent or d.notification_type in ("warning", "error"):
                urgent_mail.add(d.recipient_id)

    _attach_mail(session, w, mail, urgent_mail, now, policy)
    repo.write(session, w, now, events.CHANNEL)
    return len(w.notifications)


def _attach_mail(
    session: Session,
    w: repo.Writes,
    mail: dict[uuid.UUID, list[dict[str, Any]]],
    urgent: set[uuid.UUID],
    now: datetime,
    policy: Policy,
) -> dict[uuid.UUID, uuid.UUID]:
    """Put each row in its user's pending mail (opened now, due at the end of the batching
    window: several notifications within it make one mail): the batches to open and to hurry
    go to ``w``, ``email_batch_id`` onto the rows; returns ``notification id -> batch id``."""
    if not mail:
        return {}
    batches = repo.open_batches(session, mail.keys())
    fresh = set()
    for user_id in mail:
        if user_id not in batches:
            batch_id = batches[user_id] = uuid7()
            fresh.add(batch_id)
            w.batches.append(
                {
                    "id": batch_id,
                    "user_id": user_id,
                    "send_after": now if user_id in urgent else now + policy.email_window,
                    "created_at": now,
                }
            )
    w.hurry.extend(b for u, b in batches.items() if u in urgent and b not in fresh)
    attached = {}
    for user_id, rows in mail.items():
        for row in rows:
            row["email_batch_id"] = batches[user_id]
            attached[row["id"]] = batches[user_id]
    return attached


# --- releasing holds -------------------------------------------------------------------------


def release(
    session: Session, user_id: uuid.UUID, reason: str, now: datetime, policy: Policy
) -> int:
    """Deliver the user's held notifications as they were, plus one digest; drop the hold."""
    held = repo.deliver_held(session, user_id, now)
    if not held:
        return 0
    trace, stamp = current_traceparent(), events.ts(datetime.now(UTC))
    out = [
        events.delivered(r, was_held=True, traceparent=trace, time=stamp)
        for r in held
        if r["in_app"]
    ]
    mail = {user_id: [r for r in held if r["email"]]} if any(r["email"] for r in held) else {}
    w = repo.Writes(events=out)
    repo.set_email_batch(session, _attach_mail(session, w, mail, set(), now, policy))
    counts: dict[str, int] = {}
    for r in held:
        counts[r["kind"]] = counts.get(r["kind"], 0) + 1
    lead = "While you focused" if reason == FOCUS else "During your quiet hours"
    titles = [f"- {r['title']}" for r in held[:10]]
    if len(held) > 10:
        titles.append(f"… and {len(held) - 10} more")
    digest = {
        **_row(
            Draft(
                recipient_id=user_id,
                kind=DIGEST,
                title=f"{lead}: {summary(counts)}",
                message="\n".join(titles),
                created_at=now,
                link="/api/v1/notifications?unread=true",
            ),
            "\n".join(titles),
        ),
        "delivered_at": now,
        "data": {"counts": counts, "reason": reason, "held": len(held)},
    }
    w.notifications.append(digest)
    out.append(events.delivered(digest, was_held=False, traceparent=trace, time=stamp))
    repo.write(session, w, now, events.CHANNEL)
    return len(held)


def _rejudge(
    session: Session, user_ids: list[uuid.UUID], now: datetime, policy: Policy
) -> dict[uuid.UUID, tuple[str, datetime] | None]:
    known = repo.recipients(session, user_ids, now, policy.grace)
    out = {}
    for u in user_ids:
        r = known.get(u) or NOBODY
        out[u] = hold_state(r.prefs, r.user.timezone if r.user else None, r.focus_until, now)
    return out


def release_due(session: Session, now: datetime, policy: Policy, limit: int) -> int:
    """The release job's tick: claim due holds (skipping those another replica holds), release
    each user no longer held, reschedule the others. Returns how many holds were claimed."""
    claimed = repo.claim_due_holds(session, now, limit)
    if not claimed:
        return 0
    states = _rejudge(session, [u for u, _ in claimed], now, policy)
    for user_id, reason in claimed:
        still = states[user_id]
        if still is not None:
            repo.reschedule_hold(
                session, user_id, still[1], FOCUS if FOCUS in (reason, still[0]) else still[0]
            )
        else:
            release(session, user_id, reason, now, policy)
    return len(claimed)


def release_user(session: Session, user_id: uuid.UUID, now: datetime, policy: Policy) -> int:
    """Release the user's hold now if nothing holds them any more (their focus session just
    ended); waits for a release job that has the row. How many notifications were released."""
    reason = repo.lock_hold(session, user_id)
    if reason is None:
        return 0
    still = _rejudge(session, [user_id], now, policy)[user_id]
    if still is not None:
        repo.reschedule_hold(
            session, user_id, still[1], FOCUS if FOCUS in (reason, still[0]) else still[0]
        )
        return 0
    return release(session, user_id, reason, now, policy)
