"""Daily check-ins as the workers' screens show them (docs/daily-care.md): every resident with a
window and how their check-in stands today. Reads only; the engine's pass that decides a
missed check-in is `dispatcher.engine.checkins`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import checkins as rules
from dispatcher.rules.alarms import MISSED_CHECKIN, Status
from dispatcher.store.models import Alarm, Community, Resident


@dataclass(frozen=True, slots=True)
class ResidentToday:
    resident: Resident
    community: str
    today: rules.Today
    open_alarm: int | None


async def today(
    *, session: AsyncSession, now: datetime, tz: ZoneInfo, community_id: str | None = None
) -> list[ResidentToday]:
    """Every resident with a check-in window (of one community, or all), and how their
    check-in stands today; missed ones first, then by community and name."""
    query = (
        select(Resident, Community.name)
        .join(Community, Community.id == Resident.community_id)
        .where(Resident.checkin_window.is_not(None))
    )
    if community_id is not None:
        query = query.where(Resident.community_id == community_id)
    rows = list(await session.execute(query))
    missed = await session.execute(
        select(Alarm.resident_id, Alarm.id).where(
            Alarm.type == MISSED_CHECKIN, Alarm.status != Status.RESOLVED.value
        )
    )
    open_alarms: dict[str | None, int] = dict(missed.all())
    found = [
        ResidentToday(
            resident=r,
            community=name,
            today=checkin_today(r, now=now, tz=tz),
            open_alarm=open_alarms.get(r.id),
        )
        for r, name in rows
    ]
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


def checkin_today(resident: Resident, *, now: datetime, tz: ZoneInfo) -> rules.Today:
    return rules.today(
        rules.readable_window(resident.checkin_window),
        paused_until=resident.checkin_paused_until,
        last_press=resident.last_press_at,
        now=now,
        tz=tz,
    )


def checkin_json(resident: Resident, today: rules.Today) -> dict[str, Any]:
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
