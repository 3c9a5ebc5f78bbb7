from __future__ import annotations

import io
import logging

from vc_common.logging import JSONFormatter, RedactTokens, setup_logging


def test_tokens_in_urls_never_reach_the_logs() -> None:
    setup_logging("sample", json=True)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JSONFormatter("sample"))
    logger = logging.getLogger("uvicorn.error")
    assert any(isinstance(f, RedactTokens) for f in logger.filters)
    logger.addHandler(handler)
    try:
        logger.warning(
            '%s - "WebSocket %s" [accepted]',
            "127.0.0.1:5000",
            "/api/v1/rooms/r1/ws?since=abc&token=eyJhbGciOi.secret.sig",
        )
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert "eyJhbGciOi" not in text
    assert "token=[redacted]" in text
    assert "since=abc" in text


def test_the_http_clients_requests_stay_out_of_the_info_log() -> None:
    setup_logging("sample", json=True)
    # the revocation feed polls identity every second through httpx, which logs each at INFO
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
    assert logging.getLogger("vc.auth").isEnabledFor(logging.INFO)
