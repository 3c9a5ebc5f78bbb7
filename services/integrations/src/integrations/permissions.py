"""Who may do what in integrations. An integration has no team: it is its owner's alone
(``ctx.authorize(None, action, author_id=integration.user_id)``: anyone else gets 404)."""

from teams_client import MEMBER
from vc_common.authz import AUTHOR, Permissions

PERMISSIONS = Permissions(
    {
        "integration.manage": AUTHOR,  # read, configure, sync, disconnect: its owner only
        # pointing an integration at a team (Slack announcements of its tasks and meetings)
        "integration.link_team": MEMBER,
    }
)
