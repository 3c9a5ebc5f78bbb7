"""What integrations consumes (one ``Consumer("integrations")``):

- ``teams.member.*``, ``teams.team.deleted``: the membership projection;
- ``tasks.task.completed``: Slack messages (``slack.consumers``) and closing linked GitHub issues
  (``github.consumers``); ``tasks.task.reopened``, ``tasks.task.updated``: GitHub issues;
- ``meetings.meeting.started``: Slack messages;
- ``calendar.event.created/updated/cancelled``: pushed to Google (``google.consumers``).
"""

from __future__ import annotations

from vc_common.events.consumer import Consumer

from integrations.models import membership

consumer = Consumer("integrations")
membership.register(consumer)

# the handlers register themselves on `consumer`
from integrations.github import consumers as _github  # noqa: E402
from integrations.google import consumers as _google  # noqa: E402
from integrations.slack import consumers as _slack  # noqa: E402

__all__ = ["_github", "_google", "_slack", "consumer"]
