"""Two people take the same alarm in the same instant (an operator on the dashboard, a
worker by phone): one has it, the other is told who; never both, on either database.
SQLite has no row locks, so the read of the alarm must sit inside the write lock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select

from dispatcher.config import Settings
from dispatcher.store.models import EventLog
from dispatcher.users.accounts import Role
from harness.city import new_sos, seed_city
from tests.web.helpers import WebOnly, bearer, web_only

SettingsFor = Callable[..., Settings]
ALARMS = 12


async def _open(w: WebOnly) -> list[int]:
    now = datetime.now(UTC)
    async with w.sessions.begin() as session:
        opened = [new_sos(now) for _ in range(ALARMS)]
        session.add_all(opened)
        await session.flush()
        return [a.id for a in opened]


async def test_two_takes_at_once_give_the_alarm_to_one(
    db_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(db_url)) as w:
        await seed_city(w.sessions, residents=1)
        tokens = {}
        for name in ("op1", "op2"):
            await w.add_user(name, Role.OPERATOR)
            tokens[name] = await bearer(w.client, name)
        alarm_ids = await _open(w)

        async def take(alarm_id: int, who: str) -> int:
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            async with w.client.post(f"/api/alarms/{alarm_id}/ack", headers=headers) as answer:
                return answer.status

        statuses = await asyncio.gather(
            *(take(alarm_id, who) for alarm_id in alarm_ids for who in ("op1", "op2"))
        )
        async with w.sessions() as session:
            takes = dict(
                (
                    await session.execute(
                        select(EventLog.alarm_id, func.count())
                        .where(EventLog.kind == "ack")
                        .group_by(EventLog.alarm_id)
                    )
                ).all()
            )
    assert sorted(statuses) == [200] * ALARMS + [409] * ALARMS
    assert takes == dict.fromkeys(alarm_ids, 1)
