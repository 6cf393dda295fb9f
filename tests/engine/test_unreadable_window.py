"""A check-in window the engine cannot read (written past the city file's and the API's
checks, by hand in the database) is said once and put off a day: it was read again,
with its warning, at every pass, and a batch's worth of them kept every later new
window from its first deadline for ever."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.engine.checkins import UNREADABLE_RECHECK, CheckinResult, run_checkins
from dispatcher.store.db import is_postgresql
from dispatcher.store.models import Resident
from harness.city import seed_city

Sessions = async_sessionmaker[AsyncSession]
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=TZ)
WINDOWS = {"r-0001": "7-10", "r-0002": "07:00-25:00", "r-0003": "07:00-10:00"}
LOGGER = "dispatcher.engine.checkins"


async def test_unreadable_windows_are_put_off_and_let_the_others_through(
    db_url: str, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_city(sessions, residents=3)
    async with sessions.begin() as session:
        for resident_id, window in WINDOWS.items():
            await session.execute(
                update(Resident)
                .where(Resident.id == resident_id)
                .values(checkin_window=window, checkin_due_at=None)
            )

    async def one_pass(now: datetime) -> tuple[CheckinResult, list[str]]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            async with sessions.begin() as session:
                result = await run_checkins(
                    session=session, now=now, tz=TZ, limit=2, skip_locked=is_postgresql(db_url)
                )
        return result, [r.getMessage() for r in caplog.records if r.name == LOGGER]

    async def deadlines() -> dict[str, datetime | None]:
        async with sessions() as session:
            residents = await session.scalars(select(Resident).order_by(Resident.id))
            return {r.id: r.checkin_due_at for r in residents}

    first, said = await one_pass(NOW)  # the batch of two: both unreadable
    assert (first.unreadable, first.started) == (2, 0)
    assert first.more(2)  # a full batch: look again at once
    assert len(said) == 2
    assert all("unreadable check-in window" in line for line in said)

    second, said = await one_pass(NOW)
    assert (second.unreadable, second.started) == (0, 1)
    assert said == []  # said once, not at every pass
    due = await deadlines()
    assert due["r-0001"] == due["r-0002"] == NOW + UNREADABLE_RECHECK
    assert due["r-0003"] is not None
    assert due["r-0003"] < NOW + UNREADABLE_RECHECK  # today's window end, 10:00

    # a day later, read again (beside r-0003's missed check-in): said again, put off again
    later = NOW + UNREADABLE_RECHECK
    unreadable, warnings = 0, 0
    for _ in range(3):
        again, said = await one_pass(later)
        unreadable, warnings = unreadable + again.unreadable, warnings + len(said)
    assert (unreadable, warnings) == (2, 2)
    due = await deadlines()
    assert due["r-0001"] == due["r-0002"] == later + UNREADABLE_RECHECK
