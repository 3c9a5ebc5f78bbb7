"""Who may do what in focus. Sessions, goals and stats are the caller's own (their queries only
ever read the caller's rows, so someone else's is a 404); what needs a team is for its members,
and a non-member gets 404 for anything of the team."""

from teams_client import MEMBER
from vc_common.authz import Permissions

PERMISSIONS = Permissions(
    {
        "focus.for_team": MEMBER,  # start a session, or set a goal, for the team (and its task)
        "team.focus_now": MEMBER,  # who in the team is focusing right now
        "task.focus_time": MEMBER,  # the focus time spent on a task of the team
    }
)
