"""A crash while sending: an SMS or call that may have gone out is failed, never sent
twice (and the escalation moves on); a terminal command is simply sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from dispatcher.rules.notifications import Purpose
from dispatcher.store.db import create_engine, session_factory
from dispatcher.store.models import Alarm, Notification
from dispatcher.store.notifications import recover_interrupted
from dispatcher.store.outbox import base_row, queue
from tests.support.city import seed_city

NOW = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)


async def test_interrupted_sends_are_failed_or_repeated_by_channel(db_url: str) -> None:
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
                status="open",
                priority=1,
                created_at=NOW,
                escalation_started=True,
                step=1,
                round=0,
                next_step_at=NOW + timedelta(seconds=120),
                escalation_exhausted=False,
            )
            session.add(alarm)
            await session.flush()
            rows = [
                base_row(
                    alarm_id=alarm.id,
                    purpose=Purpose.STEP,
                    recipient_key="worker:w-night",
                    recipient_name="刘军",
                    phone="+8613800000002",
                    language="zh-CN",
                    channel=channel,
                    now=NOW,
                    step=1,
                )
                for channel in ("sms", "voice")
            ]
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
            await queue(session, rows)
            alarm_id = alarm.id

        async with sessions.begin() as session:
            assert await recover_interrupted(session=session, now=NOW + timedelta(seconds=5)) == 3
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
