"""The mail job: sends due ``email_batches`` over SMTP, one mail per transaction.

Batching (as Zulip does): the first notification of a user that goes by mail opens a batch due
``NOTIFICATIONS_EMAIL_BATCH_SECONDS`` (2 minutes) later; every later one within it joins the same
batch, so several notifications make one mail. An urgent one (a warning, something starting
within 15 minutes) makes its batch due at once. When the batch is sent it says only what is still
unread: what the user read in the app meanwhile needs no mail, and a batch with nothing left is
``skipped``.

Why a crash never sends a mail twice nor loses one
--------------------------------------------------
Each mail is one transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` claims the batch row (the
lock is the claim: another replica's claim skips it, and it dies with the transaction), then the
mail goes to the SMTP server, then the row is marked ``sent`` and the transaction commits.

- A crash (or an SMTP error, or a timeout) *before the server accepted the message* (its 250
  reply to the end of DATA) rolls the transaction back: the row is pending again and will be sent
  later. The server did not take the mail: RFC 5321 discards a transaction that was not ended by
  the final ``.``. Nothing lost, nothing sent. An error *after* the 250 (the QUIT) is ignored
  (:func:`send`): the mail went.
- After the 250 reply the row is marked and committed within the same transaction: the next
  claim does not see it again. Nothing sent twice.
- The one window left is between the server's 250 and our COMMIT reaching PostgreSQL (one
  round trip on a connection already open; no other work in between). No protocol closes it
  (the SMTP server and PostgreSQL share no transaction). If the process dies exactly there, the
  row is pending again and the mail is sent a second time **with the same Message-ID**
  (``<batch id as hex@...>``), which mail stores and clients (Gmail among them)
  collapse as one message. That is the idempotency key of the send.
- A failed send is retried with backoff (30 s doubling, at most an hour), up to
  ``NOTIFICATIONS_MAIL_MAX_ATTEMPTS`` times, then the batch is ``dead`` (logged): a permanently
  refused address does not retry forever.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from email.message import EmailMessage

import aiosmtplib
from vc_common.context import Context

from notifications.delivery.rules import Policy, email_backoff
from notifications.mail import repository as repo
from notifications.mail.render import render, subject_of
from notifications.models import EmailBatch
from notifications.settings import Settings

log = logging.getLogger("notifications.mail")


async def send(settings: Settings, message: EmailMessage) -> None:
    """Hand ``message`` to the SMTP server; returns once the server accepted it (its 250 reply
    to the end of DATA). A failure after that (the QUIT) is not a failure of the send: counting
    it as one would send the mail again. (``aiosmtplib.send`` ignores the usual QUIT errors
    too; here the rule is explicit, and holds for a reset socket as well.)"""
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        use_tls=settings.smtp_use_tls,
        start_tls=settings.smtp_start_tls,
        timeout=settings.smtp_timeout,
    )
    await client.connect()
    try:
        await client.send_message(message)
    finally:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            await client.quit()


async def _failed(ctx: Context, batch: EmailBatch, now: datetime, policy: Policy, why: str) -> None:
    attempts = batch.attempts + 1
    if attempts >= policy.mail_max_attempts:
        log.error(
            "giving up on mail %s to user %s after %d attempts: %s",
            batch.id,
            batch.user_id,
            attempts,
            why,
        )
        await repo.mark(ctx.session, batch, status="dead", attempts=attempts, last_error=why[:2000])
    else:
        log.warning("mail %s failed (attempt %d), retrying: %s", batch.id, attempts, why)
        await repo.mark(
            ctx.session,
            batch,
            attempts=attempts,
            last_error=why[:2000],
            send_after=now + email_backoff(attempts),
        )


async def send_one(ctx: Context, batch: EmailBatch, settings: Settings, policy: Policy) -> str:
    """Send one claimed batch (in the caller's transaction); what became of it."""
    now = ctx.now()
    items = await repo.items(ctx.session, batch.id)
    if not items:
        await repo.mark(ctx.session, batch, status="skipped")
        return "skipped"
    user = await repo.recipient(ctx.session, batch.user_id)
    if user is not None and not user.is_active:
        await repo.mark(ctx.session, batch, status="skipped", last_error="account deactivated")
        return "skipped"
    if user is None or not user.email:
        # identity's event may still be on its way: retried, then given up
        await _failed(ctx, batch, now, policy, "no e-mail address known for the user")
        return "failed"
    message = render(
        batch_id=batch.id,
        to=user.email,
        username=user.username,
        items=items,
        mail_from=settings.mail_from,
        public_url=settings.public_url,
        now=now,
    )
    try:
        await send(settings, message)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        await _failed(ctx, batch, now, policy, f"{type(exc).__name__}: {exc}")
        return "failed"
    await repo.mark(
        ctx.session,
        batch,
        status="sent",
        sent_at=now,
        attempts=batch.attempts + 1,
        to_address=user.email,
        subject=subject_of(items),
        last_error=None,
    )
    return "sent"


async def send_due_mail(ctx: Context) -> int:
    """The job's tick: up to ``NOTIFICATIONS_MAIL_BATCH`` due mails, each committed on its own
    (see the module docstring). Returns how many were claimed."""
    settings: Settings = ctx.settings or Settings()
    policy = Policy.of(settings)
    claimed = 0
    for _ in range(settings.notifications_mail_batch):
        batch = await repo.claim_due(ctx.session, ctx.now())
        if batch is None:
            break
        claimed += 1
        await send_one(ctx, batch, settings, policy)
        await ctx.session.commit()  # this mail's outcome; its row lock ends here
    return claimed
