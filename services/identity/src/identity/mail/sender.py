"""The loop that sends ``mail_outbox`` rows: claims a batch with ``FOR UPDATE SKIP LOCKED`` (so
replicas share the work), sends each with aiosmtplib, retries failures with exponential backoff.
Delivery is at least once: a crash between the SMTP answer and the commit sends a mail twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
from fastapi import FastAPI
from sqlalchemy import delete, func, select
from vc_common.db import Database

from identity.models import MailOutbox, RefreshToken
from identity.settings import Settings

log = logging.getLogger("identity.mail")


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts, 1), 3600))


async def _send(settings: Settings, mail: MailOutbox) -> None:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = mail.to_address
    msg["Subject"] = mail.subject
    msg["Message-ID"] = make_msgid(idstring=str(mail.id), domain="virtualcoworking.dev")
    msg.set_content(mail.body_text)
    await aiosmtplib.send(
        msg,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        use_tls=settings.smtp_use_tls,
        start_tls=settings.smtp_start_tls,
        timeout=settings.smtp_timeout,
    )


async def send_pending(db: Database, settings: Settings) -> int:
    """Send one batch of due mail; returns how many were sent."""
    sent = 0
    async with db.unit_of_work() as session:
        now = datetime.now(UTC)
        batch = (
            (
                await session.execute(
                    select(MailOutbox)
                    .where(
                        MailOutbox.sent_at.is_(None),
                        MailOutbox.dead_at.is_(None),
                        MailOutbox.next_attempt_at <= now,
                    )
                    .order_by(MailOutbox.next_attempt_at)
                    .limit(settings.mail_batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        for mail in batch:
            try:
                await _send(settings, mail)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                mail.attempts += 1
                mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if mail.attempts >= settings.mail_max_attempts:
                    mail.dead_at = datetime.now(UTC)
                    log.error(
                        "giving up on mail %s to %s after %d attempts: %s",
                        mail.id,
                        mail.to_address,
                        mail.attempts,
                        exc,
                    )
                else:
                    mail.next_attempt_at = datetime.now(UTC) + backoff(mail.attempts)
                    log.warning(
                        "mail %s failed (attempt %d), retrying: %s", mail.id, mail.attempts, exc
                    )
            else:
                mail.attempts += 1
                mail.sent_at = datetime.now(UTC)
                mail.last_error = None
                sent += 1
    return sent


PURGE_EVERY = 3600.0


async def purge_expired(db: Database, now: datetime | None = None) -> tuple[int, int]:
    """Forget refresh tokens a day past their expiry (reuse detection no longer needs them:
    an expired token is refused anyway) and mails sent or dead for a week."""
    now = now or datetime.now(UTC)
    async with db.unit_of_work() as session:
        tokens = await session.execute(
            delete(RefreshToken).where(RefreshToken.expires_at < now - timedelta(days=1))
        )
        mails = await session.execute(
            delete(MailOutbox).where(
                func.coalesce(MailOutbox.sent_at, MailOutbox.dead_at) < now - timedelta(days=7)
            )
        )
    return int(getattr(tokens, "rowcount", 0) or 0), int(getattr(mails, "rowcount", 0) or 0)


async def run_sender(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    last_purge = 0.0
    while not stop.is_set():
        if time.monotonic() - last_purge > PURGE_EVERY:
            last_purge = time.monotonic()
            try:
                tokens, mails = await purge_expired(db)
                if tokens or mails:
                    log.info("purged %d expired refresh tokens and %d old mails", tokens, mails)
            except Exception:
                log.warning("purge failed; retrying in an hour", exc_info=True)
        try:
            sent = await send_pending(db, settings)
        except Exception:  # the loop must survive a database hiccup
            log.exception("mail sender failed; retrying")
            sent = 0
        if sent >= settings.mail_batch_size:
            continue  # more may be waiting
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.mail_poll_interval)


async def start_mail_sender(app: FastAPI, stack: AsyncExitStack) -> None:
    settings: Settings = app.state.settings
    if not settings.mail_sender_enabled:
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_sender(app.state.db, settings, stop), name="mail-sender")

    async def shutdown() -> None:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=settings.smtp_timeout + 5)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    stack.push_async_callback(shutdown)
