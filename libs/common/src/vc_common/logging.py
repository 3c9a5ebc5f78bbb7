"""JSON logs, one object per line, carrying the request id and trace id of the current request."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from typing import Any

import orjson

from vc_common.telemetry import current_trace_id

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vc_request_id", default=None
)

_STD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            out["request_id"] = rid
        tid = current_trace_id()
        if tid:
            out["trace_id"] = tid
        for k, v in record.__dict__.items():
            if k not in _STD and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


_SECRET_QUERY = re.compile(r"([?&](?:token|access_token|refresh_token)=)[^&\s\"']+")


class RedactTokens(logging.Filter):
    """Removes tokens carried in a URL's query (WebSockets take ``?token=``) from log lines,
    uvicorn's own included: a log file must never be a way to someone's session."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg = _SECRET_QUERY.sub(r"\1[redacted]", message)
            record.args = None
        return True


def setup_logging(service: str, level: str = "INFO", *, json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stdout)
    if json:
        handler.setFormatter(JSONFormatter(service))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    redact = RedactTokens()
    handler.addFilter(redact)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "aiohttp.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(redact)
    # httpx logs every request at INFO: the revocation feed's poll, once a second in every
    # service, was 14 lines a second under make run
    for noisy in ("uvicorn.access", "aiormq", "aio_pika", "nats", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
