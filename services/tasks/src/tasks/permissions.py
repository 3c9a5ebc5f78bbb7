"""Who may do what in the tasks service: this one table, checked one way, inside the service
functions (``await ctx.authorize(team_id, "board.manage")``; see ``vc_common.authz``).

As the contract says: members of a team read everything of its boards and create content
(tasks, subtasks, attachments, comments); admins (and owners) also manage the boards, their
columns and the team's labels. Only a comment's author edits it; its author or an admin deletes
it, and an attachment likewise by its uploader or an admin. Anyone who is not a member gets 404
for anything of the team, so nobody learns that it exists.
"""

from teams_client import ADMIN, AUTHOR, MEMBER
from vc_common.authz import Permissions

PERMISSIONS = Permissions(
    {
        # boards, their columns and tasks, and all on a task: subtasks, attachments, comments,
        # history; the team's task list
        "board.read": MEMBER,
        "board.manage": ADMIN,  # create, rename, delete a board; add, change, delete its columns
        "task.write": MEMBER,  # create, change, move, relabel, delete a task
        "subtask.write": MEMBER,  # add, change, delete a task's subtasks
        "attachment.add": MEMBER,
        "attachment.delete": AUTHOR | ADMIN,  # its uploader, or an admin of the team
        "comment.add": MEMBER,
        "comment.edit": AUTHOR,  # only its author
        "comment.delete": AUTHOR | ADMIN,  # its author, or an admin of the team
        "label.read": MEMBER,
        "label.manage": ADMIN,  # create, rename, recolour, delete the team's labels
    }
)
