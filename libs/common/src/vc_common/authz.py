"""Who may do what: the mechanism every service's ``permissions.py`` fills in.

A service says who may do what in one table (in the manner of Polar's per-module ``auth.py``)::

    # tasks/permissions.py
    PERMISSIONS = Permissions({
        "board.read": MEMBER,              # any member of the board's team
        "board.manage": ADMIN,             # create, rename, delete a board
        "comment.edit": AUTHOR,            # only the comment's author
        "comment.delete": AUTHOR | ADMIN,  # its author, or an admin of the team
        "analytics.rebuild": STAFF,        # platform staff, no team involved
    })

and checks it one way, inside its service functions (never in an endpoint dependency)::

    member = await ctx.authorize(board.team_id, "board.manage")
    await ctx.authorize(event.team_id, "event.edit", author_id=event.created_by_id)
    await ctx.authorize(None, "analytics.rebuild")

:meth:`vc_common.context.Context.authorize` finds the actor's membership of the team through the
app's :class:`MembershipSource` (the teams projection of ``teams_client``; teams itself reads its
own table) and applies the rule: not a member is ``NotFound`` (nobody learns that another team's
data exists), a member the rule refuses is ``Forbidden``. For a resource without a team
(``team_id`` None) a refusal is ``NotFound`` when the resource is someone else's
(``author_id`` given: a personal event is its owner's alone), ``Forbidden`` otherwise.

Roles are teams' vocabulary (``teams_client.Role``); this module only needs them to be ordered
(``at_least``), so it holds no knowledge of the teams context.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from vc_common.auth import AuthUser
from vc_common.errors import Forbidden

if TYPE_CHECKING:
    from vc_common.context import Context


class RankedRole(Protocol):
    """A role that knows its rank (``teams_client.Role``)."""

    def at_least(self, other: Any) -> bool: ...


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's membership of a team, as the service's source knows it."""

    team_id: uuid.UUID
    user_id: uuid.UUID
    role: Any  # a RankedRole; Any keeps teams' enum usable without a cast

    def has_role(self, role: Any) -> bool:
        ranked: RankedRole = self.role
        return ranked.at_least(role)


@dataclass(frozen=True, slots=True)
class Grant:
    """What a rule is judged on: who acts, their membership of the resource's team (``None``
    for a resource without a team), and who created the resource."""

    actor: AuthUser | None
    member: Membership | None
    author_id: uuid.UUID | None = None


class Rule:
    """One cell of a permission table. Combine with ``|`` (either rule allows)."""

    def allows(self, grant: Grant) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def __or__(self, other: Rule) -> Rule:
        return AnyOf((self, other))


@dataclass(frozen=True)
class MinRole(Rule):
    """Members of the resource's team whose role is at least ``role``."""

    role: Any

    def allows(self, grant: Grant) -> bool:
        return grant.member is not None and grant.member.has_role(self.role)

    def describe(self) -> str:
        return f"the {self.role} role in the team"


@dataclass(frozen=True)
class Author(Rule):
    """The user who created the resource (``author_id`` passed to ``authorize``); for a
    resource without a team (a personal calendar event, a notification) its owner."""

    def allows(self, grant: Grant) -> bool:
        return (
            grant.actor is not None
            and grant.author_id is not None
            and grant.actor.id == grant.author_id
        )

    def describe(self) -> str:
        return "to be its author"


@dataclass(frozen=True)
class Staff(Rule):
    """Platform staff (``is_staff`` in the access token), whatever the team."""

    def allows(self, grant: Grant) -> bool:
        return grant.actor is not None and grant.actor.is_staff

    def describe(self) -> str:
        return "a staff account"


@dataclass(frozen=True)
class AnyOf(Rule):
    rules: tuple[Rule, ...]

    def allows(self, grant: Grant) -> bool:
        return any(r.allows(grant) for r in self.rules)

    def describe(self) -> str:
        return " or ".join(r.describe() for r in self.rules)

    def __or__(self, other: Rule) -> Rule:
        return AnyOf((*self.rules, other))


AUTHOR = Author()
STAFF = Staff()


class Permissions(Mapping[str, Rule]):
    """A service's permission table: action name -> :class:`Rule`."""

    def __init__(self, table: Mapping[str, Rule]) -> None:
        self._table = dict(table)

    def __getitem__(self, action: str) -> Rule:
        try:
            return self._table[action]
        except KeyError:
            raise KeyError(f"no permission named {action!r} in this service's table") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def allows(self, action: str, grant: Grant) -> bool:
        return self[action].allows(grant)

    def check(self, action: str, grant: Grant) -> None:
        """``Forbidden`` (403) unless the rule allows ``action``."""
        rule = self[action]
        if not rule.allows(grant):
            raise Forbidden(f"This needs {rule.describe()}.", action=action)


class MembershipSource(Protocol):
    """Where a service reads team memberships from."""

    async def lookup(
        self, ctx: Context, team_id: uuid.UUID, user_id: uuid.UUID
    ) -> Membership | None: ...


@dataclass(frozen=True)
class Access:
    """What ``Context.authorize`` needs: where memberships come from, and the service's table."""

    permissions: Permissions
    source: MembershipSource | None = None  # None: the service keeps no team data
