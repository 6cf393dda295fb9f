"""A crash while sending: an SMS or call that may have gone out is failed, never sent
twice (and the escalation moves on); a terminal command is simply sent again. With
several processes, one that restarts recovers only its own interrupted sends, and
anyone's that are stale, never another's in flight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from dispatcher.rules.notifications import Purpose
from dispatcher.store.db import create_engine, session_factory
from dispatcher.store.deliveries import recover_interrupted
from dispatcher.store.models import Alarm, Notification
from dispatcher.store.outbox import add, base_row
from harness.city import emergency_at_step_one, night_worker_message, seed_city

NOW = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)


async def test_interrupted_sends_are_failed_or_repeated_by_channel(db_url: str) -> None:
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        await seed_city(sessions)
        async with sessions.begin() as session:
            alarm = emergency_at_step_one(NOW)
            session.add(alarm)
            await session.flush()
            rows = [night_worker_message(alarm.id, channel, NOW) for channel in ("sms", "voice")]
            rows.append(
                base_row(
                    alarm_id=alarm.id,
                    purpose=Purpose.COMMAND,
                    recipient_key="terminal:T-0001",
                    recipient_name="T-0001",
                    phone=None,
                    language="zh-CN",
                    channel="terminal",
                    now=NOW,
                )
            )
            for row in rows:
                row["status"] = "sending"
            await add(session, rows)
            alarm_id = alarm.id

        recovered = await recover_interrupted(
            sessions=sessions,
            now=NOW + timedelta(seconds=5),
            owner="dispatcher.1",
            stale_after_s=600,
            starting=True,
        )
        assert recovered == 3  # claimed before claims were signed: taken as its own
        async with sessions() as session:
            statuses = dict(
                (await session.execute(select(Notification.channel, Notification.status))).all()
            )
            moved = await session.get_one(Alarm, alarm_id)
        assert statuses == {
            "sms": "permanent_failure",
            "voice": "permanent_failure",
            "terminal": "pending",
        }
        # nobody of step 1 is left reachable: the next step is due now, not in 115 s
        assert moved.next_step_at == NOW + timedelta(seconds=5)
    finally:
        await engine.dispose()


async def test_a_restart_recovers_its_own_and_stale_sends_never_another_s_in_flight(
    db_url: str,
) -> None:
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        await seed_city(sessions)
        async with sessions.begin() as session:
            alarm = Alarm(
                device_id="T-0001",
                resident_id="r-0001",
                kind="emergency",
                type="sos",
                status="acknowledged",
                priority=1,
                created_at=NOW,
                escalation_started=True,
                step=1,
                round=0,
                escalation_exhausted=False,
            )
            session.add(alarm)
            await session.flush()
            claims = {
                # key: (claimed by, seconds before the restart)
                "mine": ("dispatcher.1", 3),
                "theirs": ("dispatcher.2", 3),
                "theirs-stale": ("dispatcher.2", 601),
            }
            rows = []
            for key, (owner, ago) in claims.items():
                row = base_row(
                    alarm_id=alarm.id,
                    purpose=Purpose.ACK_OVERDUE,
                    recipient_key=key,
                    recipient_name=key,
                    phone="+8613800000009",
                    language="zh-CN",
                    channel="sms",
                    now=NOW,
                )
                row |= {
                    "status": "sending",
                    "claimed_by": owner,
                    "claimed_at": NOW - timedelta(seconds=ago),
                }
                rows.append(row)
            await add(session, rows)

        async def recover(owner: str, *, starting: bool) -> int:
            return await recover_interrupted(
                sessions=sessions, now=NOW, owner=owner, stale_after_s=600, starting=starting
            )

        async def statuses() -> dict[str, str]:
            async with sessions() as session:
                found = await session.execute(
                    select(Notification.recipient_key, Notification.status)
                )
                return dict(found.all())

        # dispatcher.1 restarts: its own send and the stale one, not dispatcher.2's
        assert await recover("dispatcher.1", starting=True) == 2
        assert await statuses() == {
            "mine": "permanent_failure",
            "theirs": "sending",
            "theirs-stale": "permanent_failure",
        }
        # the passes after a start touch only stale rows: none now
        assert await recover("dispatcher.1", starting=False) == 0
        assert await recover("dispatcher.3", starting=False) == 0
        assert (await statuses())["theirs"] == "sending"
    finally:
        await engine.dispose()
