"""Who may do what in notifications: the one table, checked with ``ctx.authorize``.

A notification and a user's preferences belong to no team: they are their owner's alone, so
every rule is ``AUTHOR`` (the owner), and anyone else's is a 404 (``ctx.authorize(None, ...,
author_id=owner)``): nobody learns that someone else's notification exists.
"""

from vc_common.authz import AUTHOR, Permissions

PERMISSIONS = Permissions(
    {
        "notification.read": AUTHOR,  # see it, mark it read
        "preferences.manage": AUTHOR,  # read and change one's own preferences
    }
)
