"""A small city written straight through the models, for tests of other parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.rules.notifications import Purpose
from dispatcher.rules.policy import AlarmKind
from dispatcher.store.alarms import open_alarm
from dispatcher.store.models import Alarm, Community, Contact, Resident, Terminal, Worker
from dispatcher.store.outbox import base_row

DAY = {"days": "mon-sun", "start": "08:00", "end": "20:00"}
NIGHT = {"days": "mon-sun", "start": "20:00", "end": "08:00"}


@dataclass(frozen=True)
class SmallCity:
    terminals: list[str]
    residents: list[str]


async def seed_city(
    sessions: async_sessionmaker[AsyncSession], *, residents: int = 3, night_worker: bool = True
) -> SmallCity:
    async with sessions.begin() as session:
        session.add(
            Community(id="kangqiao", name="康桥社区", street="纬北路街道", district="天桥区")
        )
        session.add(
            Worker(
                id="w-day",
                community_id="kangqiao",
                name="张丽",
                phone="+8613800000001",
                shifts=[DAY],
            )
        )
        if night_worker:
            session.add(
                Worker(
                    id="w-night",
                    community_id="kangqiao",
                    name="刘军",
                    phone="+8613800000002",
                    shifts=[NIGHT],
                )
            )
        await session.flush()
        city = SmallCity(terminals=[], residents=[])
        for i in range(1, residents + 1):
            rid, tid = f"r-{i:04d}", f"T-{i:04d}"
            session.add(
                Resident(
                    id=rid,
                    community_id="kangqiao",
                    name=f"居民{i}",
                    birth_year=1940,
                    address=f"天桥区纬北路{i}号",
                    language="zh-CN",
                    medical="高血压",
                )
            )
            await session.flush()
            session.add_all(
                [
                    Contact(
                        resident_id=rid,
                        name="李娜",
                        relation="女儿",
                        phone=f"+86139{i:04d}0001",
                        priority=1,
                    ),
                    Contact(
                        resident_id=rid,
                        name="赵强",
                        relation="邻居",
                        phone=f"+86139{i:04d}0002",
                        priority=2,
                    ),
                    Terminal(device_id=tid, resident_id=rid, connected=False),
                ]
            )
            city.terminals.append(tid)
            city.residents.append(rid)
    return city


def new_sos(now: datetime, terminal: str = "T-0001") -> Alarm:
    """An SOS of `terminal`'s resident (of `seed_city`) just opened at `now`, as ingest
    opens one: its first step due at once."""
    return open_alarm(
        kind=AlarmKind.EMERGENCY,
        type_="sos",
        priority=1,
        device_id=terminal,
        resident_id=f"r-{terminal[2:]}",
        community_id="kangqiao",
        now=now,
    )


def emergency_at_step_one(now: datetime, terminal: str = "T-0001") -> Alarm:
    """An open SOS of `terminal`'s resident (of `seed_city`), at its first step since
    `now`, the next one in 120 s."""
    return Alarm(
        device_id=terminal,
        resident_id=f"r-{terminal[2:]}",
        kind="emergency",
        type="sos",
        status="open",
        priority=1,
        created_at=now,
        escalation_started=True,
        step=1,
        round=0,
        next_step_at=now + timedelta(seconds=120),
        escalation_exhausted=False,
    )


def night_worker_message(alarm_id: int, channel: str, now: datetime) -> dict[str, Any]:
    """Step 1's outbox row to `seed_city`'s night worker 刘军, by `channel`."""
    return base_row(
        alarm_id=alarm_id,
        purpose=Purpose.STEP,
        recipient_key="worker:w-night",
        recipient_name="刘军",
        phone="+8613800000002",
        language="zh-CN",
        channel=channel,
        now=now,
        step=1,
    )
