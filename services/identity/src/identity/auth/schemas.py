from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from identity.auth.usernames import canonical
from identity.users.schemas import Email

Username = Annotated[
    str,
    Field(
        min_length=3,
        max_length=150,
        pattern=r"^[\w.+-]+$",
        description="Letters, digits and . + - _ (no @: login accepts the username or the e-mail)"
        " in one script, stored in Unicode NFKC (fullwidth letters become ordinary ones)",
    ),
    AfterValidator(canonical),
]


class RegisterRequest(BaseModel):
    username: Username
    email: Email
    password: str = Field(min_length=10, max_length=1024)
    first_name: str = Field(default="", max_length=150)
    last_name: str = Field(default="", max_length=150)


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=254, description="The username or e-mail")
    password: str = Field(min_length=1, max_length=1024)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class VerifyRequest(BaseModel):
    token: str = Field(min_length=1, max_length=512)
