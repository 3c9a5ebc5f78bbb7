"""Who may do what in analytics."""

from teams_client import MEMBER
from vc_common.authz import STAFF, Permissions

PERMISSIONS = Permissions(
    {
        "analytics.read_team": MEMBER,  # a team's daily rows: any member of the team
        "analytics.rebuild": STAFF,  # recompute aggregates from the raw log
    }
)
