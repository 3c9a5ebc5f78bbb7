"""``Range: bytes=...`` (RFC 9110 section 14): one range is served as a 206; several, or a header
that does not parse, are ignored (the whole file, 200), as the RFC allows."""

from __future__ import annotations

import re

_ONE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class Unsatisfiable(Exception):
    """The range starts past the end of the file (416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, stop)`` (stop exclusive) for a single satisfiable range, None for the whole
    file; ``Unsatisfiable`` when the range lies outside it."""
    if not header:
        return None
    m = _ONE.match(header)
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        n = int(last)
        if n == 0:
            raise Unsatisfiable
        return max(0, size - n), size
    start = int(first)
    stop = size if last == "" else min(size, int(last) + 1)
    if last != "" and int(last) < start:
        return None  # invalid: ignored
    if start >= size:
        raise Unsatisfiable
    return start, stop
