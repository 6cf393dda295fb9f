"""What lets a correct password through login limits that others could fill
(`dispatcher.rules.login_backoff`): device tokens given at a successful login, and the
addresses each user logged in from. Keyed by hashes: the table holds no token and no
address."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules.login_backoff import DEVICE_FOR, KNOWN_FOR, device_valid
from dispatcher.store.db import is_postgresql
from dispatcher.store.models import LoginTrust, User

_TABLE: Any = LoginTrust.__table__
DEVICE = "device"
ADDRESS = "address"
TOKEN_MAX = 64  # what `secrets.token_urlsafe(32)` makes, with room


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def device_key(token: str) -> str:
    return _hash(f"device\x00{token}")


def address_key(username: str, address: str | None) -> str:
    return _hash(f"known\x00{username.strip().casefold()}\x00{address or '?'}")


async def device_of(*, session: AsyncSession, token: str, username: str, now: datetime) -> bool:
    """Whether `token` is a device token of this (enabled) user that has not lapsed."""
    last = await session.scalar(
        select(LoginTrust.last_at)
        .join(User, User.id == LoginTrust.user_id)
        .where(
            LoginTrust.key == device_key(token),
            LoginTrust.kind == DEVICE,
            User.username == username,
            User.disabled_at.is_(None),
        )
    )
    return device_valid(last, now)


async def last_here(
    *, session: AsyncSession, username: str, address: str | None
) -> datetime | None:
    """When this user last logged in from this address (None: never, or forgotten)."""
    found: datetime | None = await session.scalar(
        select(LoginTrust.last_at).where(
            LoginTrust.key == address_key(username, address), LoginTrust.kind == ADDRESS
        )
    )
    return found


async def remember(
    *,
    session: AsyncSession,
    username: str,
    address: str | None,
    device: str | None,
    now: datetime,
) -> str:
    """After a successful login: this address is known for the user, and the device
    token they came with goes on (else a new one). Returns the device token."""
    user_id = await session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise LookupError(username)
    token = device or secrets.token_urlsafe(32)
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    for key, kind in ((address_key(username, address), ADDRESS), (device_key(token), DEVICE)):
        stmt = insert(_TABLE).values(key=key, user_id=user_id, kind=kind, last_at=now)
        await session.execute(
            stmt.on_conflict_do_update(index_elements=[_TABLE.c.key], set_={"last_at": now})
        )
    # what lapsed goes, so the table holds only what still counts
    for kind, keep_for in ((DEVICE, DEVICE_FOR), (ADDRESS, KNOWN_FOR)):
        await session.execute(
            delete(LoginTrust).where(
                LoginTrust.user_id == user_id,
                LoginTrust.kind == kind,
                LoginTrust.last_at <= now - keep_for,
            )
        )
    return token
