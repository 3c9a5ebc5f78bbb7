"""The focus service's one durable consumer and what it handles.

- ``identity.user.registered`` / ``identity.user.updated``: each user's timezone
  (``focus.users.consumers``).
- ``teams.member.*`` / ``teams.team.deleted``: the team membership projection
  (``vc_common.membership``); a deleted team's focus data is handled by
  ``focus.sessions.consumers.forget_team``.
"""

from __future__ import annotations

from vc_common.events.consumer import Consumer
from vc_common.membership import membership_consumer_handlers

from focus.models import membership_tables
from focus.sessions import consumers as _team_hooks  # registers the team-deleted hook
from focus.users.consumers import USER_EVENTS, on_user_event, reset_timezones

del _team_hooks

consumer = Consumer("focus")
consumer.on(*USER_EVENTS)(on_user_event)
consumer.on_reset(reset_timezones)
membership_consumer_handlers(consumer, membership_tables)
