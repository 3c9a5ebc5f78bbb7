"""Writing mail: a ``mail_outbox`` row in the caller's transaction, sent after commit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from identity.models import MailOutbox


async def queue_mail(session: AsyncSession, *, to: str, subject: str, body: str) -> MailOutbox:
    mail = MailOutbox(to_address=to, subject=subject, body_text=body)
    session.add(mail)
    await session.flush()
    return mail


async def queue_verification_mail(
    session: AsyncSession, *, to: str, username: str, token: str, public_url: str, ttl_hours: int
) -> MailOutbox:
    link = f"{public_url.rstrip('/')}/verify-email?token={token}"
    body = (
        f"Hello {username},\n\n"
        "please confirm your e-mail address for VirtualCoworking by opening this link:\n\n"
        f"  {link}\n\n"
        "or by sending this token to POST /api/v1/auth/verify:\n\n"
        f"  {token}\n\n"
        f"It is valid for {ttl_hours} hours. If you did not sign up, ignore this mail.\n"
    )
    return await queue_mail(session, to=to, subject="Confirm your e-mail address", body=body)
