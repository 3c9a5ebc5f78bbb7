"""Who may do what in teams: the contract's role matrix (``owner > admin > member``).

Rules only teams has sit on top, in ``teams.teams.service``: an admin cannot touch an owner (nor
make one: ``owners.manage``), the last owner can neither leave nor be demoted, any member may
leave. Non-members get 404 for anything of the team.
"""

from teams_client import ADMIN, MEMBER, OWNER
from vc_common.authz import Permissions

PERMISSIONS = Permissions(
    {
        "team.read": MEMBER,  # the team, its members
        "team.update": ADMIN,
        "team.delete": OWNER,
        "members.manage": ADMIN,  # add, change the role of, remove members (not owners)
        "owners.manage": OWNER,  # make, change or remove an owner
        "ownership.transfer": OWNER,
    }
)
