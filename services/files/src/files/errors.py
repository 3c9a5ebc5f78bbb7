"""The errors only files raises (the rest are vc_common's)."""

from __future__ import annotations

from typing import Any

from vc_common.errors import DomainError


class PayloadTooLarge(DomainError):
    """413. The connection is closed after the answer: the rest of the body is not read."""

    status, slug, title = 413, "payload-too-large", "Payload too large"

    def __init__(self, detail: str, **kw: Any) -> None:
        kw.setdefault("headers", {"Connection": "close"})
        super().__init__(detail, **kw)


class UploadTimeout(DomainError):
    status, slug, title = 408, "upload-timeout", "Request timeout"

    def __init__(self, detail: str, **kw: Any) -> None:
        kw.setdefault("headers", {"Connection": "close"})
        super().__init__(detail, **kw)
