"""The ``file`` field of a ``multipart/form-data`` body, streamed: python-multipart's push
parser (the one Starlette uses, here without Starlette's spooled form) is fed the request's
chunks and the file part's bytes come out as they are parsed, so no part is held whole.

Other fields are skipped (at most ``EXTRA_LIMIT`` bytes of them); the first part named ``file``
is the upload, and the body must end properly after it (a truncated body is an error, never a
shorter file).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from vc_common.errors import Invalid

EXTRA_LIMIT = 64 * 1024  # bytes of fields other than `file`
# a multipart body is a little larger than its file: boundaries, part headers, small fields
MULTIPART_OVERHEAD = EXTRA_LIMIT + 16 * 1024
FIELD = "file"


def boundary_of(content_type: str) -> bytes | None:
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        return None
    boundary = params.get(b"boundary")
    if not boundary:
        raise Invalid("A multipart body needs a boundary.", loc=["header", "content-type"])
    return boundary


class MultipartFile:
    """``await part.open()`` reads up to the ``file`` part's headers (its ``filename`` and
    ``content_type``); then ``part.data()`` yields its bytes."""

    def __init__(self, chunks: AsyncIterator[bytes], boundary: bytes) -> None:
        self.chunks = chunks
        self.filename: str | None = None
        self.content_type: str | None = None
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._in_file = False
        self._file_seen = False
        self._file_done = False
        self._ended = False
        self._out: list[bytes] = []
        self._extra = 0
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    # --- parser callbacks (synchronous) ----------------------------------------------------

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if name == FIELD and not self._file_seen:
            self._in_file = self._file_seen = True
            raw = params.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None
            ctype = self._headers.get(b"content-type")
            self.content_type = ctype.decode("latin-1") if ctype else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._out.append(data[start:end])
        else:
            self._extra += end - start
            if self._extra > EXTRA_LIMIT:
                raise Invalid(
                    f"Fields other than `{FIELD}` may hold at most {EXTRA_LIMIT} bytes.",
                    loc=["body"],
                )

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            self._file_done = True

    def _end(self) -> None:
        self._ended = True

    # --- the async side --------------------------------------------------------------------

    async def _feed_one(self) -> bool:
        """Parse the next chunk; False at the end of the body."""
        try:
            chunk = await anext(self.chunks)
        except StopAsyncIteration:
            return False
        try:
            self.parser.write(chunk)
        except MultipartParseError as exc:
            raise Invalid(f"The multipart body is malformed: {exc}", loc=["body"]) from exc
        return True

    async def open(self) -> None:
        while not self._file_seen:
            if self._ended or not await self._feed_one():
                raise Invalid(f"The form has no `{FIELD}` field.", loc=["body", FIELD])

    async def data(self) -> AsyncIterator[bytes]:
        while True:
            if self._out:
                out, self._out = self._out, []
                for piece in out:
                    yield piece
            if self._file_done:
                break
            if not await self._feed_one():
                raise Invalid("The multipart body ended inside the file.", loc=["body", FIELD])
        # the rest of the body (closing boundary, other fields) must parse to its end
        while not self._ended:
            if not await self._feed_one():
                raise Invalid("The multipart body is truncated.", loc=["body"])
