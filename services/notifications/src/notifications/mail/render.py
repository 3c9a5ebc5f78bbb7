"""A batch's mail: a plain-text and an HTML part (``multipart/alternative``), and a Message-ID
derived from the batch id, so a resend of the same batch is recognisably the same mail."""

from __future__ import annotations

import html
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    message: str
    link: str | None
    created_at: datetime


def message_id(batch_id: uuid.UUID, mail_from: str) -> str:
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "virtualcoworking.dev"
    # short enough for one header line (a folded Message-ID confuses some readers)
    return f"<{batch_id.hex}@{domain}>"


def subject_of(items: Sequence[Item]) -> str:
    if len(items) == 1:
        return items[0].title[:250]
    return f"{len(items)} new notifications on VirtualCoworking"


def _url(public_url: str, link: str | None) -> str | None:
    return public_url.rstrip("/") + link if link else None


def render(
    *,
    batch_id: uuid.UUID,
    to: str,
    username: str | None,
    items: Sequence[Item],
    mail_from: str,
    public_url: str,
    now: datetime,
) -> EmailMessage:
    greeting = f"Hello {username}," if username else "Hello,"
    lines = [greeting, "", "here is what happened on VirtualCoworking:", ""]
    blocks = []
    for it in items:
        url = _url(public_url, it.link)
        lines += [f"* {it.title}", *(f"  {m}" for m in it.message.splitlines() if m)]
        if url:
            lines.append(f"  {url}")
        lines.append("")
        title = html.escape(it.title)
        heading = f'<a href="{html.escape(url, quote=True)}">{title}</a>' if url else title
        body = "<br>".join(html.escape(m) for m in it.message.splitlines())
        blocks.append(f"<li><p><strong>{heading}</strong><br>{body}</p></li>")
    footer = "You get these mails for unread notifications; choose which in your preferences."
    lines += ["--", footer]
    text = "\n".join(lines) + "\n"
    page = (
        "<!doctype html><html><body>"
        f"<p>{html.escape(greeting)}</p><p>here is what happened on VirtualCoworking:</p>"
        f"<ul>{''.join(blocks)}</ul>"
        f'<p style="color:#666;font-size:small">{html.escape(footer)}</p>'
        "</body></html>"
    )
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = to
    msg["Subject"] = subject_of(items)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(batch_id, mail_from)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    msg.set_content(text)
    msg.add_alternative(page, subtype="html")
    return msg
