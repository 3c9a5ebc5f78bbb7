"""Parsing what cursors carry back."""

from __future__ import annotations

from datetime import datetime


def parse_timestamp(value: object) -> datetime:
    return datetime.fromisoformat(str(value))
