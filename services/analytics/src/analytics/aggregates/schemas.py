"""Request and response bodies of the analytics routes."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class TeamAnalyticsRead(BaseModel):
    """A team's totals on one UTC day (zeros on a day nothing happened)."""

    date: date
    active_members: int = Field(description="distinct members at work in the team that day")
    completed_tasks: int = Field(description="task completions (a re-completion counts again)")
    total_focus_minutes: int = Field(description="focus minutes of sessions done for the team")
    meetings_count: int = Field(description="meetings of the team that ended that day")
    storage_bytes: int = Field(
        default=0, description="bytes of the team's files stored at the end of that day"
    )


class UserAnalyticsRead(BaseModel):
    """The caller's totals on one day of their local calendar (profile timezone)."""

    date: date
    completed_tasks: int = Field(description="tasks completed, as assignee (or completer)")
    focus_minutes: int
    meetings_attended: int


class RebuildRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", description="first day, YYYY-MM-DD")
    to: date = Field(description="last day, YYYY-MM-DD (at most 366 days after `from`)")


class RebuildRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    events: int = Field(description="logged events read")
    team_rows: int
    user_rows: int
