"""What a notification can be about (``kind``), the channels each kind uses by default, and how
the digest names several of them ("3 tasks assigned").

A kind is the cause, spelt ``<thing>.<what happened>``; it is part of the public API (the inbox's
``kind`` and the preferences' ``channels`` keys), so the names never change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

TASK_ASSIGNED = "task.assigned"
TASK_COMMENTED = "task.commented"
TEAM_MEMBER_ADDED = "team.member_added"
MEETING_INVITED = "meeting.invited"
MEETING_STARTED = "meeting.started"
CALENDAR_REMINDER = "calendar.reminder"
CHAT_MENTION = "chat.mention"
FOCUS_GOAL_REACHED = "focus.goal_reached"
INTEGRATION_NEEDS_RECONNECT = "integration.needs_reconnect"
#: the summary of what was held while the user focused (not a preference: always in-app)
DIGEST = "digest"

Kind = Literal[
    "task.assigned",
    "task.commented",
    "team.member_added",
    "meeting.invited",
    "meeting.started",
    "calendar.reminder",
    "chat.mention",
    "focus.goal_reached",
    "integration.needs_reconnect",
]
KINDS: tuple[str, ...] = get_args(Kind)

NotificationType = Literal["info", "warning", "error", "success"]
NOTIFICATION_TYPES: tuple[str, ...] = get_args(NotificationType)
#: what a hold (focus, quiet hours) may keep back; warning and error always go through
HOLDABLE_TYPES = frozenset({"info", "success"})


@dataclass(frozen=True, slots=True)
class Channels:
    in_app: bool = True
    email: bool = False

    def __and__(self, other: Channels) -> Channels:
        return Channels(self.in_app and other.in_app, self.email and other.email)

    @property
    def any(self) -> bool:
        return self.in_app or self.email


#: what a source allows when it does not choose (every channel: the preferences decide)
ANY_CHANNEL = Channels(in_app=True, email=True)


#: the defaults of a user who never changed their preferences: every kind in the app, and by
#: e-mail what needs an answer from the user (it is only sent when still unread, see mail/)
DEFAULT_CHANNELS: dict[str, Channels] = {
    TASK_ASSIGNED: Channels(in_app=True, email=True),
    TASK_COMMENTED: Channels(in_app=True, email=True),
    TEAM_MEMBER_ADDED: Channels(in_app=True, email=False),
    MEETING_INVITED: Channels(in_app=True, email=True),
    MEETING_STARTED: Channels(in_app=True, email=False),
    # the reminder's own reminder_type chooses; the user may still switch a channel off
    CALENDAR_REMINDER: Channels(in_app=True, email=True),
    CHAT_MENTION: Channels(in_app=True, email=True),
    FOCUS_GOAL_REACHED: Channels(in_app=True, email=False),
    INTEGRATION_NEEDS_RECONNECT: Channels(in_app=True, email=True),
}
assert set(DEFAULT_CHANNELS) == set(KINDS)

#: (one, several) for the digest's summary line
_LABELS: dict[str, tuple[str, str]] = {
    TASK_ASSIGNED: ("task assigned", "tasks assigned"),
    TASK_COMMENTED: ("comment", "comments"),
    TEAM_MEMBER_ADDED: ("team joined", "teams joined"),
    MEETING_INVITED: ("meeting invitation", "meeting invitations"),
    MEETING_STARTED: ("meeting started", "meetings started"),
    CALENDAR_REMINDER: ("reminder", "reminders"),
    CHAT_MENTION: ("mention", "mentions"),
    FOCUS_GOAL_REACHED: ("focus goal reached", "focus goals reached"),
    INTEGRATION_NEEDS_RECONNECT: ("integration to reconnect", "integrations to reconnect"),
}


def summary(counts: dict[str, int]) -> str:
    """``"3 tasks assigned, 2 mentions"``: most frequent first, then in the order of KINDS."""
    order = {k: i for i, k in enumerate(KINDS)}
    parts = []
    for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], 99))):
        one, many = _LABELS.get(kind, ("notification", "notifications"))
        parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts)
