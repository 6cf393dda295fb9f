"""The connection pool after a PostgreSQL restart: connections the server closed while
they waited in the pool are replaced at checkout (`store.db._closed_is_gone`, no round
trip), so the first statements after the restart succeed, as `pool_pre_ping` made
them do at three round trips a checkout. On a cluster of our own (`harness.postgres`):
the machine's serves the other tests."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatcher.store.db import create_engine
from harness.postgres import OwnPostgres


async def _backend(db: AsyncEngine) -> int:
    async with db.connect() as conn:
        found = await conn.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(found, int)
    return found


async def test_connections_closed_by_a_restart_are_replaced() -> None:
    pg = OwnPostgres()
    pg.init()
    pg.start()
    db = create_engine(pg.url("postgres"))
    try:

        async def busy() -> None:
            async with db.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(0.05)"))

        await asyncio.gather(*(busy() for _ in range(3)))
        assert db.pool.checkedin() == 3  # type: ignore[attr-defined]
        before = {await _backend(db) for _ in range(3)}
        # the restart takes its time while the service runs on, as in a city
        await asyncio.to_thread(pg.stop)
        await asyncio.to_thread(pg.start)
        after = [await _backend(db) for _ in range(6)]  # each pooled one checked out
        assert not before & set(after)
    finally:
        await db.dispose()
        pg.stop()
        pg.remove()
