"""What teams consumes: identity's user events, into ``known_users`` (``teams.users``)."""

from __future__ import annotations

from vc_common.events.consumer import Consumer

from teams.users import consumers as users

consumer = Consumer("teams")
users.register(consumer)
