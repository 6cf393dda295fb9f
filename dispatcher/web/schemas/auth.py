"""Logging in and who is logged in."""

from __future__ import annotations

from pydantic import Field

from dispatcher.users.accounts import Role
from dispatcher.web.schemas.base import Answer, Sent


class Login(Sent):
    username: str
    password: str
    device: str | None = Field(None, max_length=64)
    """The `device` of this user's last login from this client: its attempts are counted
    apart from others' at the same address, so no one else can slow them down."""


class Token(Answer):
    token: str
    """Send it as `Authorization: Bearer <token>`."""
    device: str
    """This client's device token for the user: send it as `device` with the next login
    (it lasts 180 days from its last use; keep it as a secret)."""


class Me(Answer):
    username: str
    role: Role
    scope: str | None = Field(
        description="the part of the city the user sees: district:NAME, street:NAME or "
        "community:ID; null: the whole city"
    )
