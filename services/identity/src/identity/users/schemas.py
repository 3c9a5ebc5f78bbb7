"""What the users API reads and writes. Field names are the seed's (User, UserProfile)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Role = Literal["owner", "admin", "member"]


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(value: str) -> str:
    if value not in _timezones():
        raise ValueError("must be an IANA time zone name, such as Europe/Berlin or UTC")
    return value


def normalize_email(value: str) -> str:
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return info.normalized


def check_birth_date(value: date | None) -> date | None:
    if value is not None and value >= date.today():
        raise ValueError("must be in the past")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(normalize_email)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(check_timezone)]
BirthDate = Annotated[date | None, AfterValidator(check_birth_date)]


class ProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    bio: str
    location: str
    birth_date: date | None
    avatar: str | None
    role: Role
    company_name: str
    timezone: str
    is_verified: bool
    created_at: datetime
    updated_at: datetime


class UserRead(BaseModel):
    """A user as they see themselves (and as staff see them)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    email: str
    first_name: str
    last_name: str
    is_active: bool
    is_staff: bool
    is_superuser: bool
    date_joined: datetime
    last_login: datetime | None
    profile: ProfileRead


class PublicProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    avatar: str | None
    timezone: str


class PublicUserRead(BaseModel):
    """What any signed-in user may see of another."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    first_name: str
    last_name: str
    profile: PublicProfileRead


def _partial(schema: dict[str, Any]) -> None:
    """A PATCH body documents no defaults: a field left out keeps its value (``exclude_unset``;
    the Python defaults are never applied), so a generated client that fills in documented
    defaults must not blank the others."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class ProfileUpdate(BaseModel):
    """Every field optional; only the ones sent change. ``null`` where the field is nullable."""

    model_config = ConfigDict(json_schema_extra=_partial)

    bio: str = Field(default="", max_length=2000)
    location: str = Field(default="", max_length=100)
    birth_date: BirthDate = None
    avatar: str | None = Field(default=None, max_length=500)
    company_name: str = Field(default="", max_length=100)
    timezone: TimeZone = "UTC"
    role: Role | None = Field(
        default=None,
        description="Read-only here: only staff change it "
        "(PATCH /api/v1/admin/users/{id}); a different value is 403.",
    )


class UserUpdate(ProfileUpdate):
    """PATCH /users/me: only the fields sent change. Profile fields may be sent flat or inside
    ``profile`` (the shape GET returns)."""

    model_config = ConfigDict(json_schema_extra=_partial)

    first_name: str = Field(default="", max_length=150)
    last_name: str = Field(default="", max_length=150)
    email: Email = ""
    profile: ProfileUpdate | None = None

    def changes(self) -> dict[str, Any]:
        out = self.model_dump(exclude_unset=True, exclude={"profile"})
        if self.profile is not None:
            out.update(self.profile.model_dump(exclude_unset=True))
        return out


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(min_length=10, max_length=1024)


class AdminUserUpdate(BaseModel):
    is_active: bool | None = None
    is_staff: bool | None = None
    role: Role | None = None
