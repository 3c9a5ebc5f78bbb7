"""Who may do what in calendar: the one table, checked with ``ctx.authorize(team_id, action)``.

A team's events are read by its members; a personal event (no team) only by its creator
(``AUTHOR``: anyone else gets 404, its existence is not revealed). The creator or an admin of
the team changes or cancels an event, its attendees, occurrences and reminders.
"""

from teams_client import ADMIN, AUTHOR, MEMBER
from vc_common.authz import Permissions

PERMISSIONS = Permissions(
    {
        "event.read": MEMBER | AUTHOR,  # a team's event: any member; a personal one: its creator
        "event.create": MEMBER | AUTHOR,  # in a team: any member; personal: oneself
        "event.edit": AUTHOR | ADMIN,  # change, cancel, drop an occurrence, attendees, reminders
        "calendar.read": MEMBER,  # a team's calendar in a range query (team_id=)
    }
)
