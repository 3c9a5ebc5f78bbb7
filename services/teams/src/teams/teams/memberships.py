"""Where teams reads memberships for ``Context.authorize``: its own table (the source of truth
that the other services project from its events)."""

from __future__ import annotations

import uuid

from teams_client import Role
from vc_common.authz import Membership
from vc_common.context import Context

from teams.teams import repository


class OwnMemberships:
    async def lookup(
        self, ctx: Context, team_id: uuid.UUID, user_id: uuid.UUID
    ) -> Membership | None:
        row = await repository.get_membership(ctx.session, team_id, user_id)
        return Membership(team_id, user_id, Role(row.role)) if row is not None else None
