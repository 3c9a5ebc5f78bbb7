"""The events teams publishes (schemas: ``contracts/events/teams.*.v1.json``).

Every event's subject is the team id. ``data.user_id`` is the acting user (``actor_id`` repeats
it); ``teams.member.*`` carry the member concerned in ``member_id`` and ``seq``, the team's
membership sequence after the change, so projections apply changes in order.
"""

from __future__ import annotations

import uuid

from vc_common.events.envelope import CloudEvent

TEAM_CREATED = "teams.team.created"
TEAM_UPDATED = "teams.team.updated"
TEAM_DELETED = "teams.team.deleted"
MEMBER_ADDED = "teams.member.added"
MEMBER_ROLE_CHANGED = "teams.member.role_changed"
MEMBER_REMOVED = "teams.member.removed"


def member_of(event: CloudEvent) -> uuid.UUID:
    """The member a ``teams.member.*`` event is about (added, role changed, removed or left).

    ``data.member_id`` since teams follows the contract (``user_id`` = the acting user); events
    produced before that carry no ``member_id`` and put the member in ``user_id``, so that is
    the fallback. Read the actor from ``actor_id`` (the actor in both shapes), never ``user_id``.
    """
    data = event.data
    member = data.get("member_id")
    return uuid.UUID(str(member if member is not None else data["user_id"]))
