"""Who may do what in chat. A non-member gets 404 for anything of the team (its rooms, their
messages, its presence); a member the rule refuses gets 403."""

from teams_client import ADMIN, AUTHOR, MEMBER
from vc_common.authz import Permissions

PERMISSIONS = Permissions(
    {
        "room.read": MEMBER,  # the team's rooms, their messages, a room's socket
        "presence.read": MEMBER,  # who of the team is online
        "room.manage": ADMIN,  # create, rename, delete a room
        "message.post": MEMBER,
        "message.edit": AUTHOR,  # only its author
        "message.delete": AUTHOR | ADMIN,  # its author, or an admin of the team
    }
)
