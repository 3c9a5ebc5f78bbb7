"""Who an event goes to, and the frame they get (pure rules of ``realtime.stream.routing``)."""

from __future__ import annotations

import uuid

import orjson
from realtime.stream.routing import route
from vc_common.events.envelope import CloudEvent


def _event(type_: str, **data: object) -> CloudEvent:
    return CloudEvent(
        source=type_.split(".")[0],
        type=type_,
        subject="s",
        data=data,
        traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01",
    )


def test_a_teams_event_goes_to_its_members_without_internal_fields() -> None:
    team = uuid.uuid4()
    r = route(_event("tasks.task.moved", team_id=str(team), user_id=str(uuid.uuid4())))
    assert r is not None
    assert (r.team_id, r.recipient_id, r.change) == (team, None, None)
    frame = orjson.loads(r.frame)
    assert frame["type"] == "event"
    assert "traceparent" not in frame["event"]
    assert frame["event"]["data"]["team_id"] == str(team)


def test_a_notification_goes_to_its_recipient_never_its_team() -> None:
    me = uuid.uuid4()
    r = route(
        _event(
            "notifications.notification.delivered", recipient_id=str(me), team_id=str(uuid.uuid4())
        )
    )
    assert r is not None
    assert (r.team_id, r.recipient_id) == (None, me)
    assert route(_event("notifications.notification.delivered", team_id=str(uuid.uuid4()))) is None


def test_an_event_without_a_team_goes_to_its_user_alone() -> None:
    me = uuid.uuid4()
    r = route(_event("focus.session.started", user_id=str(me), team_id=None))
    assert r is not None
    assert (r.team_id, r.recipient_id) == (None, me)
    assert route(_event("identity.user.registered")) is None


def test_presence_becomes_a_presence_frame_and_membership_a_change() -> None:
    team, user = uuid.uuid4(), uuid.uuid4()
    r = route(
        _event("realtime.presence.changed", team_id=str(team), user_id=str(user), status="away")
    )
    assert r is not None
    assert orjson.loads(r.frame)["type"] == "presence"
    removed = route(
        _event("teams.member.removed", team_id=str(team), user_id=str(uuid.uuid4()),
               member_id=str(user), seq=7)
    )  # fmt: skip
    assert removed is not None
    assert removed.change == {"team": str(team), "user": str(user), "role": None, "seq": 7}
    gone = route(_event("teams.team.deleted", team_id=str(team)))
    assert gone is not None
    assert gone.change == {"team": str(team), "deleted": True}
