"""What other services need of teams, published by teams: its roles (:class:`Role`), its events
(:mod:`teams_client.events`), its internal client (:class:`TeamsClient`), the membership
projection other services keep (:class:`MembershipProjection`), and the role rules
(``MEMBER``, ``ADMIN``, ``OWNER``) their permission tables are written with."""

from vc_common.authz import AUTHOR, MinRole

from teams_client.client import DEFAULT_TEAMS_URL, MemberAnswer, TeamsClient, teams_url
from teams_client.projection import MembershipProjection, ProjectionReader
from teams_client.roles import Role

MEMBER = MinRole(Role.MEMBER)
ADMIN = MinRole(Role.ADMIN)
OWNER = MinRole(Role.OWNER)

__all__ = [
    "ADMIN",
    "AUTHOR",
    "DEFAULT_TEAMS_URL",
    "MEMBER",
    "OWNER",
    "MemberAnswer",
    "MembershipProjection",
    "ProjectionReader",
    "Role",
    "TeamsClient",
    "teams_url",
]
