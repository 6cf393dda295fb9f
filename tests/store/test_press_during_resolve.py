"""A press that arrives while an operator closes that alarm (issue 9 §4), on both
databases: the operator's resolve and the batch that logs the press overlap in time.

Whichever transaction takes the alarm first, the press is never attached to an alarm
that is closed by the time the press is committed: a resolve that commits first leaves
the press to open a new alarm; a batch that got there first has the press attached
before the operator's close."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devices.events import AckResult, EventType, TerminalEvent
from dispatcher.actions import alarms as actions
from dispatcher.ingest.transaction import BatchResult, record_batch
from dispatcher.store.models import Alarm, EventLog
from harness.city import seed_city

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
# long enough for a batch that does not wait for the resolve to have read and written
# everything, so that without the lock this test would see the press on a closed alarm
OVERLAP_S = 1.0


def _press(device_id: str, event_id: str) -> TerminalEvent:
    return TerminalEvent(device_id=device_id, event_id=event_id, type=EventType.SOS, ts=NOW)


async def _first_alarm(sessions: Sessions, device_id: str) -> int:
    async with sessions.begin() as session:
        result = await record_batch(
            session, [_press(device_id, "first")], now=NOW, cancel_closes_emergency=False
        )
    (alarm_id,) = result.opened
    return alarm_id


async def _log_press(sessions: Sessions, device_id: str, read: asyncio.Event) -> BatchResult:
    async with sessions.begin() as session:
        result = await record_batch(
            session, [_press(device_id, "second")], now=NOW, cancel_closes_emergency=False
        )
        read.set()
    return result


async def _where_the_press_went(sessions: Sessions) -> int | None:
    async with sessions() as session:
        return await session.scalar(
            select(EventLog.alarm_id).where(
                EventLog.kind == "device_event", EventLog.event_id == "second"
            )
        )


async def test_a_resolve_that_commits_first_leaves_the_press_a_new_alarm(
    sessions: Sessions,
) -> None:
    city = await seed_city(sessions)
    device = city.terminals[0]
    closed = await _first_alarm(sessions, device)

    read = asyncio.Event()
    async with sessions.begin() as operator:
        await actions.resolve(
            session=operator, alarm_id=closed, by="op1", outcome="help_given", note=None, now=NOW
        )
        await operator.flush()  # the close is written, not yet committed
        press = asyncio.create_task(_log_press(sessions, device, read))
        # the batch waits for the operator's commit; without the lock it would have read
        # the alarm as open and attached the press to it by now
        await asyncio.wait([asyncio.create_task(read.wait())], timeout=OVERLAP_S)
    result = await press

    assert [r.result for r in result.replies] == [AckResult.ACCEPTED]
    (opened,) = result.opened
    assert opened != closed
    assert await _where_the_press_went(sessions) == opened
    async with sessions() as session:
        statuses = dict((await session.execute(select(Alarm.id, Alarm.status))).all())
        on_closed = list(
            await session.scalars(
                select(EventLog.kind).where(EventLog.alarm_id == closed).order_by(EventLog.id)
            )
        )
    assert statuses == {closed: "resolved", opened: "open"}
    assert on_closed == ["device_event", "alarm_opened", "resolve"]


async def test_a_press_logged_first_is_on_the_alarm_before_it_closes(sessions: Sessions) -> None:
    city = await seed_city(sessions)
    device = city.terminals[0]
    alarm_id = await _first_alarm(sessions, device)
    resolved = asyncio.Event()

    async def operator_resolves() -> None:
        async with sessions.begin() as session:
            await actions.resolve(
                session=session,
                alarm_id=alarm_id,
                by="op1",
                outcome="help_given",
                note=None,
                now=NOW,
            )
        resolved.set()

    async with sessions.begin() as session:
        result = await record_batch(
            session, [_press(device, "second")], now=NOW, cancel_closes_emergency=False
        )
        await session.flush()  # the press is written, not yet committed
        operator = asyncio.create_task(operator_resolves())
        await asyncio.wait([asyncio.create_task(resolved.wait())], timeout=OVERLAP_S)
        assert not resolved.is_set()  # the operator waits for the press's commit
    await operator

    assert result.opened == []
    assert [r.result for r in result.replies] == [AckResult.ACCEPTED]
    assert await _where_the_press_went(sessions) == alarm_id
    async with sessions() as session:
        kinds = list(
            await session.scalars(
                select(EventLog.kind).where(EventLog.alarm_id == alarm_id).order_by(EventLog.id)
            )
        )
        alarm = await session.get_one(Alarm, alarm_id)
    assert alarm.status == "resolved"
    assert kinds == ["device_event", "alarm_opened", "device_event", "alarm_updated", "resolve"]
