"""The preferences' shapes. Unknown kinds, channels or fields are refused (422), never ignored:
a client that misspells ``emial`` must learn it did not switch anything off."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from notifications.kinds import Kind


class ChannelsRead(BaseModel):
    in_app: bool
    email: bool


class ChannelsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    in_app: StrictBool | None = None
    email: StrictBool | None = None


class QuietHours(BaseModel):
    """Local wall-clock times in the user's profile timezone; ``end`` before ``start`` spans
    midnight (22:00 to 07:00)."""

    model_config = ConfigDict(extra="forbid")

    start: time = Field(examples=["22:00"])
    end: time = Field(examples=["07:00"])

    @field_validator("start", "end")
    @classmethod
    def _wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a local time, without an offset (the profile timezone applies)")
        return value.replace(microsecond=0)

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self


class PreferencesRead(BaseModel):
    channels: dict[str, ChannelsRead] = Field(description="every kind, with its current channels")
    defer_during_focus: bool
    quiet_hours: QuietHours | None
    timezone: str = Field(description="the profile timezone quiet hours are read in")


class PreferencesUpdate(BaseModel):
    """Every field optional (what is left out stays as it is); ``channels`` changes only the
    kinds and channels it names; ``quiet_hours: null`` removes them."""

    model_config = ConfigDict(extra="forbid")

    channels: dict[Kind, ChannelsUpdate] | None = None
    defer_during_focus: StrictBool | None = None
    quiet_hours: QuietHours | None = None

    @field_validator("channels")
    @classmethod
    def _channels_not_null(
        cls, value: dict[Kind, ChannelsUpdate] | None
    ) -> dict[Kind, ChannelsUpdate] | None:
        if value is None:
            raise ValueError("channels may be left out, not null")
        return value

    @field_validator("defer_during_focus")
    @classmethod
    def _defer_not_null(cls, value: bool | None) -> bool | None:
        if value is None:
            raise ValueError("defer_during_focus may be left out, not null")
        return value
