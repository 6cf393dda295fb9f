"""Daily check-ins as the workers' screens show them (docs/daily-care.md): every resident with a
window and how their check-in stands today. Reads only; the engine's pass that decides a
missed check-in is `dispatcher.engine.checkins`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import checkins as rules
from dispatcher.rules.alarms import MISSED_CHECKIN, Status
from dispatcher.store.models import Alarm, Community, Resident


class HasCheckin(Protocol):
    """A resident's check-in columns: of a `Resident`, or of a `CheckinResident`."""

    @property
    def checkin_window(self) -> str | None: ...
    @property
    def checkin_paused_until(self) -> date | None: ...
    @property
    def checkin_pause_reason(self) -> str | None: ...
    @property
    def last_press_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class CheckinResident:
    """What the list shows of a resident, read as plain columns: a city's 60,000 windows
    read as ORM objects held the event loop 2 s (every press waited) each morning list."""

    id: str
    name: str
    address: str
    community_id: str
    checkin_window: str | None
    checkin_paused_until: date | None
    checkin_pause_reason: str | None
    last_press_at: datetime | None


_COLUMNS = (
    Resident.id,
    Resident.name,
    Resident.address,
    Resident.community_id,
    Resident.checkin_window,
    Resident.checkin_paused_until,
    Resident.checkin_pause_reason,
    Resident.last_press_at,
)
# residents decided between two turns of the event loop (a few milliseconds)
_TURN = 2000


@dataclass(frozen=True, slots=True)
class ResidentToday:
    resident: CheckinResident
    community: str
    today: rules.Today
    open_alarm: int | None


async def today(
    *, session: AsyncSession, now: datetime, tz: ZoneInfo, community_id: str | None = None
) -> list[ResidentToday]:
    """Every resident with a check-in window (of one community, or all), and how their
    check-in stands today; missed ones first, then by community and name."""
    query = (
        select(*_COLUMNS, Community.name)
        .join(Community, Community.id == Resident.community_id)
        .where(Resident.checkin_window.is_not(None))
    )
    if community_id is not None:
        query = query.where(Resident.community_id == community_id)
    missed = await session.execute(
        select(Alarm.resident_id, Alarm.id).where(
            Alarm.type == MISSED_CHECKIN, Alarm.status != Status.RESOLVED.value
        )
    )
    open_alarms: dict[str | None, int] = dict(missed.all())
    rows = await session.execute(query)  # read as the loop below goes, a turn at a time
    found = []
    for n, row in enumerate(rows, 1):
        r = CheckinResident(*row[:-1])
        found.append(
            ResidentToday(
                resident=r,
                community=row[-1],
                today=checkin_today(r, now=now, tz=tz),
                open_alarm=open_alarms.get(r.id),
            )
        )
        if n % _TURN == 0:
            await asyncio.sleep(0)  # let ingest and the others have the loop
    order = {s: i for i, s in enumerate(_ORDER)}
    found.sort(key=lambda f: (order[f.today.state], f.community, f.resident.name, f.resident.id))
    return found


_ORDER = (
    rules.TodayState.MISSED,
    rules.TodayState.DUE,
    rules.TodayState.LATE,
    rules.TodayState.WAITING,
    rules.TodayState.CHECKED_IN,
    rules.TodayState.PAUSED,
    rules.TodayState.NO_WINDOW,
)


def checkin_today(resident: HasCheckin, *, now: datetime, tz: ZoneInfo) -> rules.Today:
    return rules.today(
        rules.readable_window(resident.checkin_window),
        paused_until=resident.checkin_paused_until,
        last_press=resident.last_press_at,
        now=now,
        tz=tz,
    )


def checkin_json(resident: HasCheckin, today: rules.Today) -> dict[str, Any]:
    """A resident's daily check-in and how it stands today."""
    paused = resident.checkin_paused_until
    return {
        "window": resident.checkin_window,
        "paused_until": paused.isoformat() if paused else None,
        "pause_reason": resident.checkin_pause_reason,
        "state": today.state.value,
        "day": today.day.isoformat() if today.day else None,
        "window_start": today.start.isoformat() if today.start else None,
        "window_end": today.end.isoformat() if today.end else None,
        "last_press_at": resident.last_press_at.isoformat() if resident.last_press_at else None,
    }


def today_json(item: ResidentToday) -> dict[str, Any]:
    r = item.resident
    return {
        **checkin_json(r, item.today),
        "resident_id": r.id,
        "name": r.name,
        "address": r.address,
        "community_id": r.community_id,
        "community": item.community,
        "alarm_id": item.open_alarm,
    }
