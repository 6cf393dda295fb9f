"""The process's one LISTEN/NOTIFY connection: channels, what waits while it is down,
and the reconnect after the database drops it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from dispatcher.pgbus import PgBus, _dsn
from harness.mqtt import wait_for

pytestmark = pytest.mark.postgres


@contextlib.asynccontextmanager
async def running(bus: PgBus) -> AsyncIterator[PgBus]:
    task = asyncio.create_task(bus.run())
    try:
        yield bus
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _bus(pg_url: str) -> PgBus:
    return PgBus(pg_url, logger=logging.getLogger("test.pgbus"), backoff_max_s=0.5)


async def test_messages_reach_the_listeners_of_their_channel_only(pg_url: str) -> None:
    wake, live = f"w_{uuid.uuid4().hex[:8]}", f"l_{uuid.uuid4().hex[:8]}"
    heard: list[tuple[str, str]] = []
    listener, sender = _bus(pg_url), _bus(pg_url)
    listener.listen(wake, lambda p: heard.append((wake, p)))
    listener.listen(live, lambda p: heard.append((live, p)))
    async with running(listener), running(sender):
        await wait_for(listener.connected.is_set)
        sender.send(wake, "engine")
        sender.send(live, '{"alarms": [1]}')
        sender.send(f"other_{wake}", "nobody")
        await wait_for(lambda: len(heard) == 2)
    assert sorted(heard) == sorted([(wake, "engine"), (live, '{"alarms": [1]}')])


async def test_what_waits_while_down_goes_after_the_connection_once(pg_url: str) -> None:
    channel = f"w_{uuid.uuid4().hex[:8]}"
    heard: list[str] = []
    connects: list[int] = []
    listener, sender = _bus(pg_url), _bus(pg_url)
    listener.listen(channel, heard.append, connected=lambda: connects.append(1))
    async with running(listener):
        await wait_for(listener.connected.is_set)
        for _ in range(3):
            sender.send(channel, "notifier")  # not running yet: these wait, as one
        sender.send(channel, "engine")
        async with running(sender):
            await wait_for(lambda: len(heard) == 2)
            assert heard == ["notifier", "engine"]
            # the database drops both connections: each comes back by itself
            conn = await asyncpg.connect(_dsn(pg_url))
            try:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            finally:
                await conn.close()
            await wait_for(lambda: listener.connections == 2 and sender.connections == 2)
            await wait_for(listener.connected.is_set)
            sender.send(channel, "after")
            await wait_for(lambda: heard[-1:] == ["after"])
    assert len(connects) == 2  # told at each new connection: look at once
