"""Who may do what in files: the one table, checked with ``ctx.authorize(team_id, action)``.

A team's files are read and uploaded by its members; the uploader renames and deletes their
own file, an admin any file of the team. An avatar is its owner's alone.
"""

from teams_client import ADMIN, AUTHOR, MEMBER
from vc_common.authz import Permissions

PERMISSIONS = Permissions(
    {
        "file.read": MEMBER,
        "file.upload": MEMBER,
        "file.rename": AUTHOR | ADMIN,
        "file.delete": AUTHOR | ADMIN,
    }
)
