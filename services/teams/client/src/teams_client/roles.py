"""Team roles: ``owner > admin > member``."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """Compare by rank (``at_least``, ``<``, ``>=``), never alphabetically."""

    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Any) -> bool:
        return self.rank >= Role(other).rank

    def __lt__(self, other: str) -> bool:
        return self.rank < Role(other).rank

    def __le__(self, other: str) -> bool:
        return self.rank <= Role(other).rank

    def __gt__(self, other: str) -> bool:
        return self.rank > Role(other).rank

    def __ge__(self, other: str) -> bool:
        return self.rank >= Role(other).rank


_RANK = {Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}
