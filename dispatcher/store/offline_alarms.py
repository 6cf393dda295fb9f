"""Terminals that went quiet open a device alarm, and close it when they are back.

Part of the engine's pass: silence has no message to react to, only time passing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules.alarms import Outcome, Status
from dispatcher.rules.liveness import is_online, needs_offline_alarm
from dispatcher.rules.policy import AlarmKind
from dispatcher.store.alarms import close_alarm, open_alarm, opened_entry
from dispatcher.store.models import Alarm, Resident, Terminal

OFFLINE = "offline"
_PRIORITY = 3  # as power_lost: the resident cannot call for help until it is fixed


@dataclass(slots=True)
class LivenessResult:
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    device_of: dict[int, str] = field(default_factory=dict)  # for the logs


async def check_offline_terminals(
    *,
    session: AsyncSession,
    now: datetime,
    interval_s: int,
    offline_after_missed: int,
    limit: int,
    skip_locked: bool,
) -> LivenessResult:
    result = LivenessResult()
    silent_since = now - timedelta(seconds=interval_s * offline_after_missed)
    already = select(Alarm.device_id).where(
        Alarm.type == OFFLINE, Alarm.status != Status.RESOLVED.value, Alarm.device_id.is_not(None)
    )
    query = (
        select(Terminal, Resident.community_id)
        .join(Resident, Resident.id == Terminal.resident_id)
        .where(
            Terminal.last_heartbeat.is_not(None),
            Terminal.resident_id.is_not(None),
            or_(
                Terminal.last_seen <= silent_since,
                and_(
                    Terminal.connected == false(),
                    Terminal.status_changed_at <= now - timedelta(seconds=interval_s),
                ),
            ),
            Terminal.device_id.not_in(already),
        )
        .order_by(Terminal.last_seen)
        .limit(limit)
    )
    if skip_locked:
        # two engines must not both open an alarm for one terminal
        query = query.with_for_update(skip_locked=True)
    for terminal, community_id in await session.execute(query):
        if not needs_offline_alarm(
            connected=terminal.connected,
            last_seen=terminal.last_seen,
            last_heartbeat=terminal.last_heartbeat,
            status_changed_at=terminal.status_changed_at,
            now=now,
            interval_s=interval_s,
            offline_after_missed=offline_after_missed,
        ):
            continue
        alarm = open_alarm(
            kind=AlarmKind.DEVICE,
            type_=OFFLINE,
            priority=_PRIORITY,
            device_id=terminal.device_id,
            resident_id=terminal.resident_id,
            community_id=community_id,
            now=now,
        )
        session.add(alarm)
        await session.flush()
        session.add(opened_entry(alarm, alarm_id=alarm.id, actor="engine", now=now))
        result.opened.append(alarm.id)
        result.device_of[alarm.id] = terminal.device_id

    back = await session.execute(
        select(Alarm, Terminal)
        .join(Terminal, Terminal.device_id == Alarm.device_id)
        .where(Alarm.type == OFFLINE, Alarm.status != Status.RESOLVED.value)
        .limit(limit)
    )
    for alarm, terminal in back:
        if is_online(
            connected=terminal.connected,
            last_seen=terminal.last_seen,
            now=now,
            interval_s=interval_s,
            offline_after_missed=offline_after_missed,
        ):
            closed = close_alarm(
                alarm,
                outcome=Outcome.DEVICE_RECOVERED,
                by="terminal",
                now=now,
                by_operator=False,
                actor="engine",
            )
            session.add(closed)
            result.resolved.append(alarm.id)
            result.device_of[alarm.id] = terminal.device_id
    return result
