"""Logging in and who is logged in."""

from __future__ import annotations

from dispatcher.users.accounts import Role
from dispatcher.web.schemas.base import Answer, Sent


class Login(Sent):
    username: str
    password: str


class Token(Answer):
    token: str
    """Send it as `Authorization: Bearer <token>`."""


class Me(Answer):
    username: str
    role: Role
