"""Who may do what in meetings: the one table, checked with ``ctx.authorize(team_id, action)``.

A team's meetings are its members' to see, schedule and join; the meeting's creator or an admin
of the team changes, deletes, starts, ends or cancels it. Outsiders get 404 for everything of the
team (a meeting's existence is not revealed)."""

from teams_client import ADMIN, AUTHOR, MEMBER
from vc_common.authz import Permissions

PERMISSIONS = Permissions(
    {
        "meeting.read": MEMBER,  # the team's meetings, their participants
        "meeting.create": MEMBER,
        "meeting.join": MEMBER,  # join and leave (invited or not)
        "meeting.manage": AUTHOR | ADMIN,  # edit, delete, start, end, cancel
    }
)
