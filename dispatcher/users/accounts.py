"""Dashboard users and their API tokens. Passwords are argon2id hashes, made and checked
in a worker thread: each takes tens of milliseconds of CPU, which on the event loop
would hold up the presses it ingests."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

import phonenumbers
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import scopes
from dispatcher.store.models import ApiToken, Community, User

_HASHER = PasswordHasher()
# verified against when the user does not exist, so timing does not reveal usernames
_DUMMY_HASH = _HASHER.hash("not a real password")


class Role(StrEnum):
    # the wallboard's screen sees the wall alone: its figures, no resident's data
    WALLBOARD = "wallboard"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    def at_least(self, other: Role) -> bool:
        order = [Role.WALLBOARD, Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN]
        return order.index(self) >= order.index(other)

    def may(self, least: Role, *, wallboard: bool) -> bool:
        """Whether this role may open a page or call an operation that needs `least`; the
        wallboard's account only where `wallboard` says, whatever `least` is."""
        return wallboard if self is Role.WALLBOARD else self.at_least(least)


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    role: Role
    scope: scopes.Scope | None = None
    communities: frozenset[str] | None = None
    """The ids of the communities the scope holds, as the city is now; None: the whole
    city."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def add_or_update_user(
    *,
    session: AsyncSession,
    username: str,
    role: Role,
    password: str,
    now: datetime,
    phone: str | None = None,
    scope: scopes.Scope | None = None,
) -> bool:
    """Create the user, or set the role, scope and password of an existing one. True if
    created. `phone` (E.164), when given, is the phone the user's calls ring first; None
    keeps it. `scope`: the part of the city the user sees (None: the whole city); it must
    name a district, street or community of the city loaded."""
    if not username or len(username) > 64 or not username.isprintable():
        raise ValueError("username must be 1 to 64 printable characters")
    if len(password) < 8:
        raise ValueError("password must be at least 8 characters")
    checked = None if phone is None else check_phone(phone)
    if scope is not None and not await scope_communities(session=session, scope=scope):
        raise ValueError(
            f"no {scope.level.value} named {scope.name!r} in the city: load the city file "
            "first, and give the name as it has it (a community by its id)"
        )
    user = await session.scalar(select(User).where(User.username == username))
    hashed = await asyncio.to_thread(_HASHER.hash, password)
    if user is None:
        session.add(
            User(
                username=username,
                role=role.value,
                password_hash=hashed,
                created_at=now,
                phone=checked,
                scope=None if scope is None else str(scope),
            )
        )
        return True
    user.role = role.value
    user.scope = None if scope is None else str(scope)
    if checked is not None:
        user.phone = checked
    user.password_hash = hashed
    # a changed password ends every session of the old one
    await session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    return False


def check_phone(phone: str) -> str:
    """An operator's phone as the voice provider dials it: E.164 that libphonenumber
    finds valid (`+8613800000009`); ValueError saying why not."""
    number = phone.strip()
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{phone!r} is not a phone number in E.164 form (+86...): {exc}") from None
    if not number.startswith("+") or not phonenumbers.is_valid_number(parsed):
        raise ValueError(
            f"{phone!r} is not a valid phone number in E.164 form, like +8613800000009"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


async def set_phone(*, session: AsyncSession, username: str, phone: str | None) -> None:
    """Set (or with None, clear) the phone an operator's calls ring first (docs/api.md)."""
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ValueError(f"no user {username!r}")
    user.phone = None if phone is None else check_phone(phone)


async def login(
    *, session: AsyncSession, username: str, password: str, now: datetime, ttl_s: int
) -> str | None:
    """A new bearer token for good credentials, else None."""
    # no username has a NUL (see above), and PostgreSQL could not even compare one
    user = (
        await session.scalar(select(User).where(User.username == username))
        if "\x00" not in username
        else None
    )
    try:
        await asyncio.to_thread(
            _HASHER.verify, user.password_hash if user else _DUMMY_HASH, password
        )
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )
    return token


# the column of a community a scope names it by
_BY: Final = {
    scopes.Level.DISTRICT: Community.district,
    scopes.Level.STREET: Community.street,
    scopes.Level.COMMUNITY: Community.id,
}


async def scope_communities(*, session: AsyncSession, scope: scopes.Scope) -> frozenset[str]:
    """The communities a scope holds in the city as it is now (a scope is kept by name, so
    a community added to a street later is in its supervisor's scope at once)."""
    found = await session.scalars(select(Community.id).where(_BY[scope.level] == scope.name))
    return frozenset(found)


async def principal_for_token(
    *, session: AsyncSession, token: str, now: datetime
) -> Principal | None:
    row = (
        await session.execute(
            select(User.id, User.username, User.role, User.scope)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(
                ApiToken.token_hash == token_hash(token),
                ApiToken.expires_at > now,
                User.disabled_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return None
    if row.scope is None:
        return Principal(user_id=row.id, username=row.username, role=Role(row.role))
    scope = scopes.parse(row.scope)
    return Principal(
        user_id=row.id,
        username=row.username,
        role=Role(row.role),
        scope=scope,
        communities=await scope_communities(session=session, scope=scope),
    )


async def revoke_token(*, session: AsyncSession, token: str) -> None:
    """Logging out: the token (bearer or dashboard session) stops working at once."""
    await session.execute(delete(ApiToken).where(ApiToken.token_hash == token_hash(token)))


async def live_tokens(*, session: AsyncSession, hashes: set[str], now: datetime) -> set[str]:
    """Those of the token hashes whose sessions go on: not logged out, not expired, not
    ended by a password change or by disabling the user."""
    if not hashes:
        return set()
    found = await session.scalars(
        select(ApiToken.token_hash)
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.token_hash.in_(hashes),
            ApiToken.expires_at > now,
            User.disabled_at.is_(None),
        )
    )
    return set(found)


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    role: str
    scope: str | None
    created_at: datetime
    disabled_at: datetime | None
    sessions: int
    """Tokens and dashboard sessions that have not ended."""


async def accounts(*, session: AsyncSession, now: datetime) -> list[Account]:
    """Every user, by name, with how many sessions each has open."""
    open_sessions = (
        select(ApiToken.user_id, func.count().label("n"))
        .where(ApiToken.expires_at > now)
        .group_by(ApiToken.user_id)
        .subquery()
    )
    rows = await session.execute(
        select(User, func.coalesce(open_sessions.c.n, 0))
        .outerjoin(open_sessions, open_sessions.c.user_id == User.id)
        .order_by(User.username)
    )
    return [
        Account(u.username, u.role, u.scope, u.created_at, u.disabled_at, int(n))
        for u, n in rows.all()
    ]


async def set_disabled(
    *, session: AsyncSession, username: str, disabled: bool, now: datetime
) -> bool | None:
    """Disable (every token and session of the user ends with it) or enable a user. None
    when there is no such user; else whether anything changed."""
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        return None
    if not disabled:
        changed = user.disabled_at is not None
        user.disabled_at = None
        return changed
    ended = await session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    changed = user.disabled_at is None or bool(getattr(ended, "rowcount", 0))
    user.disabled_at = user.disabled_at or now
    return changed
