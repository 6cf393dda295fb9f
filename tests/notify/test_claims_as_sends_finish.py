"""The notifier claims more as sends finish, not in waves (bench/README.md): one send
that hangs at its provider holds up nobody else's message. In waves of 50, the ten
messages after the first fifty waited for the slowest of the wave. On both databases,
the hanging send held in the test's hands."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import func, select

from dispatcher.clock import ManualClock
from dispatcher.metrics import Metrics
from dispatcher.notify.channels import Outgoing
from dispatcher.notify.worker import Notifier
from dispatcher.rules.notifications import Purpose
from dispatcher.rules.policy import AlarmKind
from dispatcher.store import outbox
from dispatcher.store.alarms import open_alarm
from dispatcher.store.db import create_engine, is_postgresql, session_factory
from dispatcher.store.models import Notification
from harness.city import seed_city
from harness.mqtt import wait_for

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
MESSAGES = 60


class FirstHangs:
    """An SMS provider whose answer to the first message waits for the test."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.held: int | None = None
        self.taken: list[int] = []

    async def send(self, message: Outgoing) -> str | None:
        if self.held is None:
            self.held = message.notification_id
            await self.release.wait()
        self.taken.append(message.notification_id)
        return f"SM{message.notification_id:032d}"


async def test_one_hanging_send_holds_up_no_other_message(db_url: str) -> None:
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        await seed_city(sessions, residents=1)
        async with sessions.begin() as session:
            alarm = open_alarm(
                kind=AlarmKind.EMERGENCY,
                type_="sos",
                priority=1,
                device_id="T-0001",
                resident_id="r-0001",
                community_id="kangqiao",
                now=NOW,
            )
            session.add(alarm)
            await session.flush()
            await outbox.add(
                session,
                [
                    outbox.base_row(
                        alarm_id=alarm.id,
                        purpose=Purpose.STEP,
                        recipient_key=f"contact:{i}",
                        recipient_name=f"亲属{i}",
                        phone=f"+86139{i:08d}",
                        language="zh-CN",
                        channel="sms",
                        now=NOW,
                    )
                    for i in range(1, MESSAGES + 1)
                ],
            )
        provider = FirstHangs()
        notifier = Notifier(
            {"sms": provider},
            sessions=sessions,
            clock=ManualClock(NOW),
            metrics=Metrics(),
            skip_locked=is_postgresql(engine),
            logger=logging.getLogger("test.notify"),
        )
        passing = asyncio.ensure_future(notifier.run_once())
        try:
            # every other message handed over while the first still hangs
            await wait_for(lambda: len(provider.taken) == MESSAGES - 1)
            assert not passing.done()  # the pass ends with its last send
        finally:
            provider.release.set()
        assert await passing == MESSAGES
        assert provider.taken[-1] == provider.held
        async with sessions() as session:
            sent = await session.scalar(select(func.count()).where(Notification.status == "sent"))
        assert sent == MESSAGES
    finally:
        await engine.dispose()
