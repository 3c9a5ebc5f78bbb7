"""Users' timezones as every service learns them: from identity's ``identity.user.registered``
and ``.updated`` events (``data.timezone``; UTC until known)."""

from __future__ import annotations

import logging
import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vc_common.events.envelope import CloudEvent

log = logging.getLogger("vc.timezones")

DEFAULT_TIMEZONE = "UTC"


def is_valid_timezone(name: object) -> bool:
    """An IANA name this machine's zone database knows."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def user_timezone_of(event: CloudEvent) -> tuple[uuid.UUID, str] | None:
    """The (user, timezone) an identity user event states, or None when it states none (an
    update of other fields) or states it badly (logged and ignored: the event is not retried)."""
    data = event.data
    try:
        user_id = uuid.UUID(str(data.get("user_id") or event.subject))
    except ValueError:
        log.warning("%s %s without a user id ignored", event.type, event.id)
        return None
    if "timezone" not in data:
        return None
    timezone = data.get("timezone") or DEFAULT_TIMEZONE
    if not is_valid_timezone(timezone):
        log.warning("unknown timezone %r for user %s ignored", timezone, user_id)
        return None
    return user_id, str(timezone)
