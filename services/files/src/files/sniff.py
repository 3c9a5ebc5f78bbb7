"""What type a stored file is served as, decided from its bytes, never from the client alone.

A browser renders some types as active content (HTML, SVG, XML, scripts): a user's file must
never be served as one of those, whatever its uploader claimed, or it would run in the API's
origin. So:

- the first bytes are sniffed (magic numbers); a raster image (PNG, JPEG, GIF, WebP) is served
  as what its bytes say, inline (an ``<img src>`` works);
- other known signatures (PDF, ZIP, gzip, MP4...) are served as what their bytes say;
- otherwise the client's type is kept unless it is one a browser renders as a document, or the
  bytes look like markup: then ``application/octet-stream``;
- everything but a raster image is served with ``Content-Disposition: attachment``, and every
  answer carries ``X-Content-Type-Options: nosniff`` and a sandboxing CSP.
"""

from __future__ import annotations

import re
from urllib.parse import quote

OCTET = "application/octet-stream"
RASTER = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# types a browser renders as a document (or runs): never served from a user's claim
RENDERED = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/xsl",
        "application/xslt+xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "text/ecmascript",
        "application/ecmascript",
        "text/x-component",
        "application/x-shockwave-flash",
        "multipart/x-mixed-replace",
        "application/vnd.wap.xhtml+xml",
        "text/cache-manifest",
    }
)
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_MARKUP = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<iframe",
    b"<svg",
    b"<?xml",
    b"<!--",
    b"<style",
    b"<title",
    b"<img",
    b"<a ",
    b"<div",
    b"<table",
    b"<font",
    b"<br",
    b"<p",
    b"<h1",
    b"<b>",
    b"<object",
    b"<embed",
)


def sniff(head: bytes) -> str | None:
    """The type the first bytes reveal, ``text/html`` for anything that looks like markup, or
    None when they say nothing."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "video/mp4"
    text = head[:1024].lstrip(b"\xef\xbb\xbf\xfe\xff\x00 \t\r\n\x0c").lower()
    if text.startswith(_MARKUP) or b"<script" in text or b"<html" in text:
        return "text/html"
    return None


def normalize(claimed: str | None) -> str:
    """``type/subtype`` of a client's Content-Type, lower case, parameters dropped; octet-stream
    for anything malformed."""
    if not claimed:
        return OCTET
    base = claimed.split(";", 1)[0].strip().lower()
    return base if _TOKEN.match(base) else OCTET


def decide(claimed: str | None, head: bytes) -> str:
    """The type to store and serve the file as."""
    found = sniff(head)
    if found == "text/html":
        return OCTET
    if found is not None:
        return found
    base = normalize(claimed)
    if base in RENDERED or base.endswith("+xml") or base.startswith("image/"):
        # an image the bytes do not confirm (SVG, or a lie) is no image to render
        return OCTET
    return base


def inline(content_type: str) -> bool:
    return content_type in RASTER


def disposition(content_type: str, filename: str) -> str:
    """``Content-Disposition``: inline for a raster image, attachment otherwise; the name as
    ASCII and as RFC 5987 UTF-8."""
    kind = "inline" if inline(content_type) else "attachment"
    ascii_name = filename.encode("ascii", "ignore").decode() or "file"
    ascii_name = re.sub(r'["\\\r\n;]', "_", ascii_name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


def clean_name(raw: str | None) -> str:
    """A file name as a user sees it: the last path segment, no control characters, at most
    255 characters; empty when nothing is left."""
    if not raw:
        return ""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("", name).strip()
    if name in {".", ".."}:
        return ""
    return name[:255]
