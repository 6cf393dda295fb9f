"""Failed logins, counted in the database so that every process agrees
(`dispatcher.rules.login_backoff` decides how long they make the next attempt wait).

Rows are keyed by a hash of what they count (a username at an address, an address, a
device token), so
any username a client sends, NUL bytes and all, is a key of one length."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules.login_backoff import FORGET_AFTER, Count, Scope
from dispatcher.store.db import is_postgresql
from dispatcher.store.models import LoginFailure

_TABLE: Any = LoginFailure.__table__


def keys(username: str, address: str | None) -> dict[Scope, str]:
    """The rows that count an attempt of `username` from `address`."""
    user = username.strip().casefold()
    where = address or "?"
    return {
        Scope.USER_AT_ADDRESS: _hash(f"user\x00{user}\x00{where}"),
        Scope.ADDRESS: _hash(f"address\x00{where}"),
    }


def device_keys(token: str) -> dict[Scope, str]:
    """The one row that counts an attempt with a trusted device token."""
    return {Scope.DEVICE: _hash(f"device\x00{token}")}


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if is_postgresql(session) else sqlite.insert


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


async def counts(
    *, session: AsyncSession, keyed: dict[Scope, str], now: datetime
) -> dict[Scope, Count | None]:
    """The counts of these rows, locked until the attempt is counted, so that attempts
    sent at once are counted one after the other: the rows are made first (a write,
    which on SQLite takes the database's one write lock), then locked (PostgreSQL)."""
    insert = _insert(session)
    for key in keyed.values():
        await session.execute(
            insert(_TABLE).values(key=key, failures=0, last_at=now).on_conflict_do_nothing()
        )
    rows = await session.execute(
        select(LoginFailure).where(LoginFailure.key.in_(keyed.values())).with_for_update()
    )
    found = {row.key: Count(row.failures, row.last_at) for row in rows.scalars()}
    return {scope: found.get(key) for scope, key in keyed.items()}


async def count_attempt(*, session: AsyncSession, keyed: dict[Scope, str], now: datetime) -> None:
    """One more attempt not known to have succeeded, on each row (a forgotten count
    starts again at one)."""
    insert = _insert(session)
    for key in keyed.values():
        stmt = insert(_TABLE).values(key=key, failures=1, last_at=now)
        forgotten = _TABLE.c.last_at <= now - FORGET_AFTER
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[_TABLE.c.key],
                set_={
                    "failures": case((forgotten, 1), else_=_TABLE.c.failures + 1),
                    "last_at": now,
                },
            )
        )


async def succeeded(*, session: AsyncSession, keyed: dict[Scope, str]) -> None:
    """The attempt counted was a success: its own count ends (the user's at this address,
    or the device's), and the address's goes back by one."""
    own = [key for scope, key in keyed.items() if scope is not Scope.ADDRESS]
    await session.execute(delete(LoginFailure).where(LoginFailure.key.in_(own)))
    if Scope.ADDRESS in keyed:
        await session.execute(
            update(LoginFailure)
            .where(LoginFailure.key == keyed[Scope.ADDRESS])
            .values(failures=case((LoginFailure.failures > 0, LoginFailure.failures - 1), else_=0))
        )
