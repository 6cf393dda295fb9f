"""`dispatcher user list | disable NAME | enable NAME` (docs/api.md): the accounts of the
dashboard, and ending one's every session at once. A disabled user's tokens are deleted
here; the web processes close their live sockets within a second (their follower looks
again), on either database."""

from __future__ import annotations

import sys

from dispatcher.clock import SystemClock
from dispatcher.config import Settings
from dispatcher.store.db import create_engine, migrate, session_factory
from dispatcher.users import accounts as users


async def list_users(settings: Settings) -> int:
    engine = create_engine(settings.database.url)
    try:
        await migrate(engine)
        async with session_factory(engine)() as session:
            found = await users.accounts(session=session, now=SystemClock().now())
    finally:
        await engine.dispose()
    print("username\trole\tstate\tsessions\tcreated")
    for a in found:
        state = f"disabled since {a.disabled_at.isoformat()}" if a.disabled_at else "active"
        print(f"{a.username}\t{a.role}\t{state}\t{a.sessions}\t{a.created_at.isoformat()}")
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
