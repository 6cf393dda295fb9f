"""A backlog of check-in work (a city file's new windows, each needing its first
deadline: 60,000 of them are 600 batches, ~10 s) is done a few batches a loop pass, each
pass then firing the escalation steps due: a press's first step does not wait behind
it. The rest follows in passes of their own at once, without another look at every
terminal; `run_once` still does everything due."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.engine import runner
from dispatcher.engine.runner import Engine
from dispatcher.metrics import Metrics
from dispatcher.store.db import is_postgresql
from dispatcher.store.models import Alarm, Resident
from harness.city import new_sos, seed_city

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
BATCH, PER_PASS = 10, 2  # the engine's sizes, made small: 25 windows are 3 batches


async def _without_deadline(sessions: Sessions) -> int:
    async with sessions() as session:
        found = await session.scalar(
            select(func.count()).where(
                Resident.checkin_window.is_not(None), Resident.checkin_due_at.is_(None)
            )
        )
    return found or 0


async def _new_windows_and_a_press(sessions: Sessions) -> None:
    """A city file gave every resident a window (no deadline yet); a resident pressed."""
    async with sessions.begin() as session:
        await session.execute(
            update(Resident).values(checkin_window="07:00-10:00", checkin_due_at=None)
        )
        session.add(new_sos(NOW))


@pytest.fixture
def engine(
    db_url: str,
    sessions: Sessions,
    settings_for: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> Engine:
    monkeypatch.setattr(runner, "_BATCH", BATCH)
    monkeypatch.setattr(runner, "_CHECKIN_BATCHES", PER_PASS)
    return Engine(
        settings_for(db_url),
        sessions=sessions,
        clock=ManualClock(NOW),
        metrics=Metrics(),
        skip_locked=is_postgresql(db_url),
        logger=logging.getLogger("test.engine"),
    )


async def test_a_press_fires_between_batches_of_new_windows(
    sessions: Sessions, engine: Engine
) -> None:
    await seed_city(sessions, residents=25)
    await _new_windows_and_a_press(sessions)

    await engine.loop_pass()
    # two batches of deadlines, then the press's first step, in the same pass
    assert await _without_deadline(sessions) == 25 - PER_PASS * BATCH
    assert engine.fired == 1
    async with sessions() as session:
        alarm = await session.scalar(select(Alarm))
    assert alarm is not None
    assert alarm.escalation_started

    await engine.loop_pass()  # the loop's next pass, at once: the rest
    assert await _without_deadline(sessions) == 0
    assert engine.terminal_looks == 1  # terminals were not looked at again for it


async def test_run_once_does_all_that_is_due(sessions: Sessions, engine: Engine) -> None:
    await seed_city(sessions, residents=25)
    await _new_windows_and_a_press(sessions)
    await engine.run_once()
    assert await _without_deadline(sessions) == 0
    assert engine.fired == 1
