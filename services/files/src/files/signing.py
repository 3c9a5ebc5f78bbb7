"""Signed file URLs: ``/api/v1/files/{id}/download?expires=<unix>&signature=<hmac>``.

HMAC-SHA256 over the file id and the expiry with the service's secret (``FILES_URL_SECRET``;
production refuses the development default). A URL works without an ``Authorization`` header
until it expires, so an ``<img src>`` or a download link works; a tampered or expired one is
refused (403). Rotating the secret invalidates every URL handed out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime
from urllib.parse import urlencode


def _mac(secret: str, file_id: uuid.UUID, expires: int) -> str:
    msg = f"files.v1:{file_id}:{expires}".encode()
    digest = hmac.new(secret.encode(), msg, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signed_path(secret: str, file_id: uuid.UUID, now: datetime, ttl: int) -> str:
    expires = int(now.timestamp()) + ttl
    query = urlencode({"expires": expires, "signature": _mac(secret, file_id, expires)})
    return f"/api/v1/files/{file_id}/download?{query}"


def valid(secret: str, file_id: uuid.UUID, expires: int, signature: str, now: datetime) -> bool:
    """The signature is this service's for this file and expiry, and the expiry is not past."""
    if expires < int(now.timestamp()):
        return False
    # compare bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500)
    given = signature.encode("utf-8", "surrogatepass")
    return hmac.compare_digest(_mac(secret, file_id, expires).encode(), given)
