"""`dispatcher user add | list | disable NAME | enable NAME` (docs/api.md): the accounts of
the dashboard, the part of the city each sees, and ending one's every session at once. A
disabled user's tokens are deleted here; the web processes close their live sockets
within a second (their follower looks again), on either database."""

from __future__ import annotations

import sys

from dispatcher.clock import SystemClock
from dispatcher.config import Settings
from dispatcher.rules import scopes
from dispatcher.store.db import create_engine, migrate, session_factory
from dispatcher.users import accounts as users


async def add_user(
    settings: Settings,
    name: str,
    role: users.Role,
    password: str,
    *,
    phone: str | None,
    scope: str | None,
) -> int:
    engine = create_engine(settings.database.url)
    try:
        where = None if scope is None else scopes.parse(scope)
        await migrate(engine)
        async with session_factory(engine).begin() as session:
            created = await users.add_or_update_user(
                session=session,
                username=name,
                role=role,
                password=password,
                now=SystemClock().now(),
                phone=phone,
                scope=where,
            )
    except ValueError as exc:
        print(f"dispatcher: {exc}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    seen = "the whole city" if where is None else str(where)
    print(f"user {name} {'created' if created else 'updated'} with role {role.value}, sees {seen}")
    return 0


async def list_users(settings: Settings) -> int:
    engine = create_engine(settings.database.url)
    try:
        await migrate(engine)
        async with session_factory(engine)() as session:
            found = await users.accounts(session=session, now=SystemClock().now())
    finally:
        await engine.dispose()
    print("username\trole\tscope\tstate\tsessions\tcreated")
    for a in found:
        state = f"disabled since {a.disabled_at.isoformat()}" if a.disabled_at else "active"
        print(
            f"{a.username}\t{a.role}\t{a.scope or 'city'}\t{state}\t{a.sessions}\t"
            f"{a.created_at.isoformat()}"
        )
    return 0


async def set_disabled(settings: Settings, name: str, *, disabled: bool) -> int:
    engine = create_engine(settings.database.url)
    try:
        await migrate(engine)
        async with session_factory(engine).begin() as session:
            changed = await users.set_disabled(
                session=session, username=name, disabled=disabled, now=SystemClock().now()
            )
    finally:
        await engine.dispose()
    if changed is None:
        print(f"dispatcher: no user {name}", file=sys.stderr)
        return 1
    if not changed:
        print(f"user {name} was {'disabled' if disabled else 'enabled'} already")
    else:
        print(f"user {name} {'disabled, every session ended' if disabled else 'enabled'}")
    return 0
