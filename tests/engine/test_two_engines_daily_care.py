"""The engine's daily-care passes run by two engines on one PostgreSQL database, as a
city's processes run them (each with its own connection pool, the same clock): each
missed check-in is opened once, each terminal that went silent raises one alarm, and
the morning list goes once a day, whichever engine looks first and however often."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.engine.runner import Engine
from dispatcher.metrics import Metrics
from dispatcher.store.db import create_engine, migrate, session_factory
from dispatcher.store.models import Alarm, Notification, Resident, Terminal
from harness.city import seed_city

pytestmark = pytest.mark.postgres

Sessions = async_sessionmaker[AsyncSession]
TZ = ZoneInfo("Asia/Shanghai")
RESIDENTS = 40


@asynccontextmanager
async def pool(url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def engine(settings: Settings, sessions: Sessions, clock: ManualClock, name: str) -> Engine:
    return Engine(
        settings,
        sessions=sessions,
        clock=clock,
        metrics=Metrics(),
        skip_locked=True,
        logger=logging.getLogger(f"test.{name}"),
    )


async def count(sessions: Sessions, where: ColumnElement[bool]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Alarm).where(where)) or 0)


async def test_two_engines_open_each_missed_checkin_once_and_send_one_morning_list(
    pg_url: str,
) -> None:
    settings = Settings.model_validate({"database": {"url": pg_url}})
    start = datetime(2026, 12, 7, 6, 0, tzinfo=TZ)
    clock = ManualClock(start)
    db = create_engine(pg_url)
    await migrate(db)
    await db.dispose()
    async with pool(pg_url) as first_pool, pool(pg_url) as second_pool:
        city = await seed_city(first_pool, residents=RESIDENTS)
        async with first_pool.begin() as session:
            await session.execute(update(Resident).values(checkin_window="07:00-10:00"))
            # every terminal beating now: the silence comes later
            await session.execute(
                update(Terminal).values(last_heartbeat=start, last_seen=start, connected=True)
            )
        engines = [
            engine(settings, first_pool, clock, "first"),
            engine(settings, second_pool, clock, "second"),
        ]

        async def both_look(times: int = 3) -> None:
            for _ in range(times):
                await asyncio.gather(*(e.run_once() for e in engines))

        await both_look()  # deadlines set: today at 10:00
        clock.set(start.replace(hour=10))  # nobody pressed
        await both_look()
        missed = Alarm.type == "missed_checkin"
        assert await count(first_pool, missed) == RESIDENTS
        async with first_pool() as session:
            per_resident = await session.execute(
                select(Alarm.resident_id, func.count()).where(missed).group_by(Alarm.resident_id)
            )
            assert dict(per_resident.all()) == dict.fromkeys(city.residents, 1)

        clock.set(start.replace(hour=10, minute=30))  # the morning list's time
        await both_look()
        async with first_pool() as session:
            lists = list(
                await session.scalars(
                    select(Notification).where(Notification.purpose == "checkin_summary")
                )
            )
        assert [(n.recipient_key, len((n.body or {})["missed"])) for n in lists] == [
            ("worker:w-day", RESIDENTS)
        ]

        # the terminals go silent: one device alarm a terminal, or one outage, not two
        clock.set(clock.now() + timedelta(hours=2))
        await both_look()
        device = Alarm.kind == "device"
        opened = await count(first_pool, device)
        assert opened >= 1
        await both_look()
        assert await count(first_pool, device) == opened
        assert all(e.terminal_looks > 0 for e in engines)  # both looked every time
