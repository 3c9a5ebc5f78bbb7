from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from identity.mail.sender import send_pending
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


def token_of(body: str) -> str:
    match = re.search(r"token=([A-Za-z0-9_\-]+)", body)
    assert match, body
    return match.group(1)


async def wait_for_mail(box: Any, address: str, count: int = 1, within: float = 10.0) -> Any:
    for _ in range(int(within / 0.05)):
        got = box.to(address)
        if len(got) >= count:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail to {address} within {within}s")


async def test_verification_mail_is_sent_after_commit_and_verifies(
    mail_client: httpx.AsyncClient, smtp: Any, api: Any
) -> None:
    box, _ = smtp
    acct = await api.signed_in(mail_client)
    [mail] = await wait_for_mail(box, acct.email)
    assert mail["Subject"] == "Confirm your e-mail address"
    body = mail.get_content()
    assert body.count("http://127.0.0.1:8000/verify-email?token=") == 1
    token = token_of(body)

    resp = await mail_client.post("/api/v1/auth/verify", json={"token": token})
    assert resp.status_code == 200, resp.text
    assert resp.json()["profile"]["is_verified"] is True
    assert resp.json()["id"] == str(acct.id)
    me = (await mail_client.get("/api/v1/users/me", headers=acct.headers)).json()
    assert me["profile"]["is_verified"] is True
    # a used token is a 422
    again = await mail_client.post("/api/v1/auth/verify", json={"token": token})
    assert again.status_code == 422
    assert again.json()["errors"][0]["loc"] == ["body", "token"]

    # changing the e-mail resets verification and mails the new address
    new_email = f"new-{acct.username}@example.org"
    resp = await mail_client.patch(
        "/api/v1/users/me", json={"email": new_email}, headers=acct.headers
    )
    assert resp.status_code == 200
    assert resp.json()["profile"]["is_verified"] is False
    [mail] = await wait_for_mail(box, new_email)
    resp = await mail_client.post(
        "/api/v1/auth/verify", json={"token": token_of(mail.get_content())}
    )
    assert resp.status_code == 200
    assert resp.json()["email"] == new_email
    assert resp.json()["profile"]["is_verified"] is True


async def test_mail_is_queued_in_the_transaction_and_sent_by_the_sender(
    app: Any, client: httpx.AsyncClient, api: Any, smtp: Any, db_connection: AsyncConnection
) -> None:
    box, port = smtp
    acct = await api.register(client)
    settings = app.state.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    assert await send_pending(app.state.db, settings) >= 1
    [mail] = box.to(acct.email)
    sent_at = (
        await db_connection.execute(
            text("SELECT sent_at FROM mail_outbox WHERE to_address = :a"), {"a": acct.email}
        )
    ).scalar()
    assert sent_at is not None
    assert await send_pending(app.state.db, settings) == 0  # nothing sent twice
    assert len(box.to(acct.email)) == 1
    assert mail["To"] == acct.email


async def test_failed_delivery_is_retried_with_backoff(
    app: Any, client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    acct = await api.register(client)
    # nobody listens on port 9 of this machine: the send fails, the row stays for a retry
    settings = app.state.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_timeout": 2.0}
    )
    assert await send_pending(app.state.db, settings) == 0
    row = (
        await db_connection.execute(
            text(
                "SELECT attempts, sent_at, last_error, next_attempt_at > now() AS later "
                "FROM mail_outbox WHERE to_address = :a"
            ),
            {"a": acct.email},
        )
    ).one()
    assert row.attempts == 1
    assert row.sent_at is None
    assert row.last_error
    assert row.later


async def test_unknown_verification_token_is_422(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/auth/verify", json={"token": "nope"})
    assert resp.status_code == 422


async def test_resend_sends_a_new_link_and_the_old_one_stops_working(
    mail_client: httpx.AsyncClient, smtp: Any, api: Any
) -> None:
    box, _ = smtp
    acct = await api.signed_in(mail_client)
    [first] = await wait_for_mail(box, acct.email)
    resp = await mail_client.post("/api/v1/auth/verify/resend", headers=acct.headers)
    assert resp.status_code == 202, resp.text
    mails = await wait_for_mail(box, acct.email, count=2)
    old, new = token_of(first.get_content()), token_of(mails[-1].get_content())
    assert old != new
    assert (await mail_client.post("/api/v1/auth/verify", json={"token": old})).status_code == 422
    assert (await mail_client.post("/api/v1/auth/verify", json={"token": new})).status_code == 200
    # verified: nothing more to resend
    again = await mail_client.post("/api/v1/auth/verify/resend", headers=acct.headers)
    assert again.status_code == 409
    # and never without a token
    assert (await mail_client.post("/api/v1/auth/verify/resend")).status_code == 401


async def test_expired_refresh_tokens_and_old_mails_are_purged(
    app: Any, client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    from datetime import UTC, datetime, timedelta

    from identity.mail.sender import purge_expired

    acct = await api.signed_in(client)
    count = text("SELECT count(*) FROM refresh_tokens WHERE user_id = :u")
    assert (await db_connection.execute(count, {"u": acct.id})).scalar() == 1
    # a month and two days from now the token (30 days) is a day past its expiry
    later = datetime.now(UTC) + timedelta(days=32)
    await db_connection.execute(
        text("UPDATE mail_outbox SET sent_at = now() WHERE to_address = :a"), {"a": acct.email}
    )
    tokens, mails = await purge_expired(app.state.db, now=later)
    assert tokens >= 1
    assert mails >= 1
    assert (await db_connection.execute(count, {"u": acct.id})).scalar() == 0
    # and today nothing current is touched
    fresh = await api.signed_in(client)
    await purge_expired(app.state.db)
    assert (await db_connection.execute(count, {"u": fresh.id})).scalar() == 1
