"""One lock order: a transaction that locks an alarm and its notifications takes the
alarm first, as the operators' actions and the engine do. Each writer of the notifier
and of Twilio's reports that may touch both, run while another transaction holds the
alarm (as an action does), must wait for the alarm with the notification still free:
then no two of them can ever wait for each other (PostgreSQL; SQLite has one writer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.ingest import transaction
from dispatcher.phones import replies
from dispatcher.rules.notifications import Purpose
from dispatcher.store import deliveries as notifications
from dispatcher.store.db import create_engine, session_factory
from dispatcher.store.models import Alarm
from dispatcher.store.outbox import add, base_row
from harness.city import emergency_at_step_one, night_worker_message, seed_city
from harness.mqtt import wait_for

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]
Writer = Callable[[AsyncSession, int], Awaitable[object]]


async def _fail(session: AsyncSession, nid: int) -> object:
    return await notifications.fail(session=session, notification_id=nid, error="x", now=NOW)


async def _retry(session: AsyncSession, nid: int) -> object:
    return await notifications.mark_retry(
        session=session, notification_id=nid, error="x", now=NOW, max_attempts=1
    )


async def _recover(session: AsyncSession, nid: int) -> object:
    return await notifications.recover(
        session=session, notification_id=nid, claimed_at=NOW, now=NOW
    )


async def _report(session: AsyncSession, nid: int) -> object:
    return await replies.record_status(
        session=session, notification_id=nid, sid=None, status="failed", error_code="1", now=NOW
    )


async def _decline(session: AsyncSession, nid: int) -> object:
    return await replies.key_pressed(
        session=session, notification_id=nid, digits="2", now=NOW, call_sid=f"CA{nid:032d}"
    )


async def _sending(
    sessions: Sessions, *, terminal: str = "T-0001", channel: str = "voice"
) -> tuple[int, int]:
    """An open emergency of `terminal`'s resident at its first step, and a message of it
    being sent (claimed, not yet handed over): (alarm id, notification id)."""
    async with sessions.begin() as session:
        alarm = emergency_at_step_one(NOW, terminal)
        session.add(alarm)
        await session.flush()
        row = night_worker_message(alarm.id, channel, NOW)
        row |= {"status": "sending", "claimed_by": "dispatcher.1", "claimed_at": NOW}
        await add(session, [row])
        alarm_id = alarm.id
    async with sessions() as session:
        nid = await session.scalar(
            text("SELECT id FROM notifications WHERE alarm_id = :a"), {"a": alarm_id}
        )
    assert isinstance(nid, int)
    return alarm_id, nid


@pytest.mark.parametrize("writer", [_fail, _retry, _recover, _report, _decline])
async def test_writers_of_notifications_lock_the_alarm_first(pg_url: str, writer: Writer) -> None:
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    try:
        await seed_city(sessions)
        alarm_id, nid = await _sending(sessions)

        async with sessions() as holder:  # an operator's action, mid-transaction
            await holder.execute(select(Alarm.id).where(Alarm.id == alarm_id).with_for_update())

            async def write() -> None:
                async with sessions.begin() as session:
                    await writer(session, nid)

            task = asyncio.create_task(write())

            async def waiting_for_a_lock() -> bool:
                async with sessions() as session:
                    found = await session.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE "
                            "datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    )
                return bool(found)

            await wait_for(waiting_for_a_lock)
            # it waits for the alarm, and holds no lock on the notification meanwhile
            async with sessions.begin() as probe:
                await probe.execute(
                    text("SELECT id FROM notifications WHERE id = :id FOR UPDATE NOWAIT"),
                    {"id": nid},
                )
            assert not task.done()
            await holder.rollback()
        await asyncio.wait_for(task, 10)
    finally:
        await engine.dispose()


async def test_recovery_holds_no_alarm_while_it_waits_for_the_next(pg_url: str) -> None:
    """A start-up's recovery of its interrupted rows takes each row's alarm and the row in a
    transaction of its own: held alarms of two rows, taken in another order by another
    process's recovery or close, deadlocked (seen in the fault test on a busy machine)."""
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    try:
        await seed_city(sessions)
        alarm_ids = [(await _sending(sessions, terminal=t))[0] for t in ("T-0001", "T-0002")]
        first, second = sorted(alarm_ids)

        async with sessions() as holder:  # the second alarm, held by someone else
            await holder.execute(select(Alarm.id).where(Alarm.id == second).with_for_update())
            task = asyncio.create_task(
                notifications.recover_interrupted(
                    sessions=sessions,
                    now=NOW,
                    owner="dispatcher.1",
                    stale_after_s=600,
                    starting=True,
                )
            )

            async def first_recovered() -> bool:
                async with sessions() as session:
                    status = await session.scalar(
                        text("SELECT status FROM notifications WHERE alarm_id = :a"), {"a": first}
                    )
                return status not in (None, "sending")

            await wait_for(first_recovered)  # committed, while it waits for the second
            async with sessions.begin() as probe:
                await probe.execute(
                    text("SELECT id FROM alarms WHERE id = :id FOR UPDATE NOWAIT"), {"id": first}
                )
                await probe.execute(
                    text("SELECT id FROM notifications WHERE alarm_id = :id FOR UPDATE NOWAIT"),
                    {"id": first},
                )
            assert not task.done()
            await holder.rollback()
        assert await asyncio.wait_for(task, 10) == 2
    finally:
        await engine.dispose()


async def test_recording_a_handover_never_waits_for_the_alarm(pg_url: str) -> None:
    """The notifier records what the provider took without touching the alarm, even
    while someone holds it FOR UPDATE: a second UPDATE of a row written in the same
    transaction made PostgreSQL check its alarm's key again (KEY SHARE), which waited
    for ingest's lock on the alarm while ingest waited for the notifier (a deadlock of
    three, in the fault test on a busy machine)."""
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    try:
        await seed_city(sessions)
        alarm_id, nid = await _sending(sessions, channel="sms")
        async with sessions() as holder:
            await holder.execute(select(Alarm.id).where(Alarm.id == alarm_id).with_for_update())
            async with asyncio.timeout(5), sessions.begin() as session:
                await notifications.mark_sent(
                    session=session,
                    handed=[notifications.Handed(nid, "SM" + "0" * 32)],
                    now=NOW,
                )
            await holder.rollback()
        async with sessions() as session:
            status = await session.scalar(text("SELECT status FROM notifications"))
        assert status == "sent"
    finally:
        await engine.dispose()


async def test_ingest_locks_open_alarms_for_no_key_update(pg_url: str) -> None:
    """What ingest holds while it writes a batch lets rows about the alarm be written
    by others (their foreign-key checks take KEY SHARE)."""
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    try:
        await seed_city(sessions)
        alarm_id, _ = await _sending(sessions, channel="sms")
        async with sessions() as ingest:
            held = await transaction._open_alarms(ingest, {"T-0001"})
            assert [a.id for a in held["T-0001"]] == [alarm_id]
            async with asyncio.timeout(5), sessions.begin() as session:
                row = base_row(
                    alarm_id=alarm_id,
                    purpose=Purpose.STEP,
                    recipient_key="contact:1",
                    recipient_name="王芳",
                    phone="+8613900000001",
                    language="zh-CN",
                    channel="sms",
                    now=NOW,
                    step=2,
                )
                await add(session, [row])
            await ingest.rollback()
    finally:
        await engine.dispose()
