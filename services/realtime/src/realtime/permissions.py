"""Who may do what in realtime: the one table, checked with ``ctx.authorize(team_id, action)``.

The live socket needs no rule of its own: what reaches it is decided per event by membership
(``realtime.stream.routing``), the way reading a team's content is decided everywhere."""

from teams_client import MEMBER
from vc_common.authz import Permissions

PERMISSIONS = Permissions(
    {
        "presence.read": MEMBER,  # the team's now and who is online: any member of the team
    }
)
