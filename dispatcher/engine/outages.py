"""Terminals that are down (offline, or without power) in the engine's pass: each raises
a device alarm of its own, or many of one community together make one outage alarm
(`rules.outages` decides); members leave an outage when they are back, and it closes
itself when all have. A terminal's own offline alarm closes itself when it is back; its
own power_lost alarm closes at its power_restored (ingest).

Part of the engine's pass: silence has no message to react to, only time passing. On
PostgreSQL one engine at a time does it (a transaction-level advisory lock: grouping
needs every down terminal of a community in one decision); the unique indexes on open
outages and held members would refuse a second one anyway.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, false, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import outages as rules
from dispatcher.rules.alarms import (
    OFFLINE_PRIORITY,
    OUTAGE_PRIORITY,
    POWER_LOST_PRIORITY,
    Outcome,
    Status,
)
from dispatcher.rules.liveness import is_online, offline_since
from dispatcher.rules.policy import AlarmKind
from dispatcher.store.alarms import close_alarm, member_left, open_alarm, opened_entry
from dispatcher.store.db import is_postgresql
from dispatcher.store.event_log import log_entry
from dispatcher.store.models import Alarm, OutageMember, Resident, Terminal

OFFLINE = rules.Reason.OFFLINE.value
POWER_LOST = rules.Reason.POWER_LOST.value
_OWN_TYPES = (OFFLINE, POWER_LOST)
_PRIORITY = {rules.Reason.OFFLINE: OFFLINE_PRIORITY, rules.Reason.POWER_LOST: POWER_LOST_PRIORITY}
# any number that no other advisory lock of ours uses
_LOCK_KEY = 0x0D15_0A7C


@dataclass(frozen=True, slots=True)
class Liveness:
    interval_s: int
    offline_after_missed: int
    offline_alarms: bool  # heartbeat.offline_alarms: silence raises alarms at all


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_terminals: int
    window_s: int


@dataclass(slots=True)
class DownResult:
    opened: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)  # also in `changed`; for the logs
    next_due: datetime | None = None


async def _lock(session: AsyncSession) -> bool:
    if not is_postgresql(session):
        return True  # SQLite: one process
    got = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    return bool(got)


def _online(terminal: Terminal, now: datetime, live: Liveness) -> bool:
    return is_online(
        connected=terminal.connected,
        last_seen=terminal.last_seen,
        now=now,
        interval_s=live.interval_s,
        offline_after_missed=live.offline_after_missed,
    )


def _down(terminal: Terminal, now: datetime, live: Liveness) -> list[rules.Down]:
    found: list[rules.Down] = []
    if live.offline_alarms:
        since = offline_since(
            connected=terminal.connected,
            last_seen=terminal.last_seen,
            last_heartbeat=terminal.last_heartbeat,
            status_changed_at=terminal.status_changed_at,
            interval_s=live.interval_s,
            offline_after_missed=live.offline_after_missed,
        )
        if since is not None and since <= now:
            found.append(rules.Down(terminal.device_id, rules.Reason.OFFLINE, since))
    if terminal.power_lost_at is not None:
        found.append(
            rules.Down(terminal.device_id, rules.Reason.POWER_LOST, terminal.power_lost_at)
        )
    return found


async def check_down_terminals(
    *,
    session: AsyncSession,
    now: datetime,
    live: Liveness,
    thresholds: Thresholds,
    limit: int,
) -> DownResult:
    result = DownResult()
    if not await _lock(session):
        return result  # another engine is at it; its pass covers this one's
    period = timedelta(seconds=live.interval_s)
    held = select(OutageMember.device_id).where(OutageMember.left_at.is_(None))
    maybe_offline = or_(
        Terminal.last_seen <= now - period * live.offline_after_missed,
        and_(Terminal.connected == false(), Terminal.status_changed_at <= now - period),
    )
    query = (
        select(Terminal, Resident)
        .join(Resident, Resident.id == Terminal.resident_id)
        .where(
            or_(
                and_(Terminal.last_heartbeat.is_not(None), maybe_offline)
                if live.offline_alarms
                else false(),
                Terminal.power_lost_at.is_not(None),
            ),
            Terminal.device_id.not_in(held),
        )
        .order_by(Terminal.device_id)
        .limit(limit)
    )
    candidates = list(await session.execute(query))
    own = await _own_alarms(session, [t.device_id for t, _ in candidates])
    down_by_community: dict[str, list[rules.Down]] = defaultdict(list)
    owners: dict[str, tuple[Terminal, Resident]] = {}
    for terminal, resident in candidates:
        for down in _down(terminal, now, live):
            if (terminal.device_id, down.reason.value) not in own:
                down_by_community[resident.community_id].append(down)
                owners[terminal.device_id] = (terminal, resident)
    outages = await _open_outages(session, now, live)
    for community_id in sorted(down_by_community.keys() | outages.keys()):
        outage, alarm = outages.get(community_id, (None, None))
        decision = rules.decide(
            down_by_community.get(community_id, []),
            outage,
            now=now,
            min_terminals=thresholds.min_terminals,
            window_s=thresholds.window_s,
        )
        await _apply(
            session,
            decision,
            community_id=community_id,
            outage=alarm,
            owners=owners,
            now=now,
            result=result,
        )
        if decision.next_due is not None:
            result.next_due = min(filter(None, (result.next_due, decision.next_due)))
    await _close_recovered(session, now, live, limit, result)
    return result


async def _own_alarms(session: AsyncSession, device_ids: list[str]) -> set[tuple[str, str]]:
    """(device, type) of the terminals' own unresolved offline and power_lost alarms."""
    if not device_ids:
        return set()
    rows = await session.execute(
        select(Alarm.device_id, Alarm.type).where(
            Alarm.device_id.in_(device_ids),
            Alarm.type.in_(_OWN_TYPES),
            Alarm.status != Status.RESOLVED.value,
        )
    )
    return {(device, type_) for device, type_ in rows if device is not None}


async def _open_outages(
    session: AsyncSession, now: datetime, live: Liveness
) -> dict[str, tuple[rules.OpenOutage, Alarm]]:
    alarms = list(
        await session.scalars(
            select(Alarm).where(Alarm.type == rules.OUTAGE, Alarm.status != Status.RESOLVED.value)
        )
    )
    if not alarms:
        return {}
    members: dict[int, list[rules.Member]] = defaultdict(list)
    rows = await session.execute(
        select(OutageMember.alarm_id, Terminal)
        .join(Terminal, Terminal.device_id == OutageMember.device_id)
        .where(OutageMember.alarm_id.in_([a.id for a in alarms]), OutageMember.left_at.is_(None))
    )
    for alarm_id, terminal in rows:
        back = _online(terminal, now, live) and terminal.power_lost_at is None
        members[alarm_id].append(rules.Member(terminal.device_id, back))
    return {
        a.community_id: (rules.OpenOutage(a.id, tuple(members[a.id])), a)
        for a in alarms
        if a.community_id is not None
    }


async def _apply(
    session: AsyncSession,
    decision: rules.Decision,
    *,
    community_id: str,
    outage: Alarm | None,
    owners: dict[str, tuple[Terminal, Resident]],
    now: datetime,
    result: DownResult,
) -> None:
    for effect in decision.effects:
        match effect:
            case rules.StartOutage(members=members):
                outage = open_alarm(
                    kind=AlarmKind.DEVICE,
                    type_=rules.OUTAGE,
                    priority=OUTAGE_PRIORITY,
                    device_id=None,
                    resident_id=None,
                    community_id=community_id,
                    now=now,
                    since=min(m.since for m in members),
                )
                session.add(outage)
                await session.flush()
                session.add(
                    opened_entry(
                        outage, alarm_id=outage.id, actor="engine", now=now, since=outage.since
                    )
                )
                for member in members:
                    _join(session, outage.id, member, now)
                result.opened.append(outage.id)
            case rules.Join(alarm_id=alarm_id, member=member):
                _join(session, alarm_id, member, now)
                result.changed.append(alarm_id)
            case rules.Leave(alarm_id=alarm_id, device_id=device_id):
                await _leave(session, alarm_id, device_id, now)
                result.changed.append(alarm_id)
            case rules.CloseOutage(alarm_id=alarm_id):
                if outage is not None and outage.id == alarm_id:
                    _ended(
                        session,
                        outage,
                        Outcome.RESOLVED_ITSELF,
                        by="engine",
                        now=now,
                        result=result,
                    )
            case rules.OwnAlarm(down=down):
                terminal, resident = owners[down.device_id]
                alarm = open_alarm(
                    kind=AlarmKind.DEVICE,
                    type_=down.reason.value,
                    priority=_PRIORITY[down.reason],
                    device_id=terminal.device_id,
                    resident_id=resident.id,
                    community_id=resident.community_id,
                    now=now,
                    since=down.since,
                )
                session.add(alarm)
                await session.flush()
                session.add(
                    opened_entry(
                        alarm, alarm_id=alarm.id, actor="engine", now=now, since=down.since
                    )
                )
                result.opened.append(alarm.id)


def _join(session: AsyncSession, alarm_id: int, member: rules.Down, now: datetime) -> None:
    session.add(
        OutageMember(
            alarm_id=alarm_id,
            device_id=member.device_id,
            reason=member.reason.value,
            # when it went down: its minutes offline count from then
            joined_at=member.since,
        )
    )
    session.add(
        log_entry(
            "outage_joined",
            at=now,
            actor="engine",
            alarm_id=alarm_id,
            device_id=member.device_id,
            data={"reason": member.reason.value, "since": member.since.isoformat()},
        )
    )


async def _leave(session: AsyncSession, alarm_id: int, device_id: str, now: datetime) -> None:
    member = await session.scalar(
        select(OutageMember).where(
            OutageMember.alarm_id == alarm_id,
            OutageMember.device_id == device_id,
            OutageMember.left_at.is_(None),
        )
    )
    if member is not None:
        session.add(member_left(member, now=now))


async def _close_recovered(
    session: AsyncSession, now: datetime, live: Liveness, limit: int, result: DownResult
) -> None:
    """A terminal's own offline alarm closes itself when it is online again."""
    back = await session.execute(
        select(Alarm, Terminal)
        .join(Terminal, Terminal.device_id == Alarm.device_id)
        .where(Alarm.type == OFFLINE, Alarm.status != Status.RESOLVED.value)
        .limit(limit)
    )
    for alarm, terminal in back:
        if _online(terminal, now, live):
            _ended(session, alarm, Outcome.DEVICE_RECOVERED, by="terminal", now=now, result=result)


def _ended(
    session: AsyncSession,
    alarm: Alarm,
    outcome: Outcome,
    *,
    by: str,
    now: datetime,
    result: DownResult,
) -> None:
    """An alarm over by itself (its outage ended, its terminal is back), as the engine saw."""
    session.add(
        close_alarm(alarm, outcome=outcome, by=by, now=now, by_operator=False, actor="engine")
    )
    result.changed.append(alarm.id)
    result.closed.append(alarm.id)
