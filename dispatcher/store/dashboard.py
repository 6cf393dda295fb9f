"""What the operators' dashboard reads: the queue, one alarm with all that is known
around it, and the terminals that need attention. Reads only; the rules decide."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import alarms as rules
from dispatcher.rules.liveness import is_online
from dispatcher.store import alarms as alarm_store
from dispatcher.store.models import (
    Alarm,
    Community,
    Contact,
    EventLog,
    Notification,
    Resident,
    Terminal,
    Worker,
)
from dispatcher.store.residents import LOW_BATTERY, resident_json, terminal_json, worker_json

QUEUE_LIMIT = 500
_UNRESOLVED = (rules.Status.OPEN.value, rules.Status.ACKNOWLEDGED.value)


def _rev() -> Any:
    """The newest timeline line of an alarm: grows with every change made to it."""
    return (
        select(func.max(EventLog.id))
        .where(EventLog.alarm_id == Alarm.id)
        .correlate(Alarm)
        .scalar_subquery()
    )


def _queue_query() -> Select[Alarm, Resident | None, Community | None, int | None]:
    return (
        select(Alarm, Resident, Community, _rev())
        .outerjoin(Resident, Resident.id == Alarm.resident_id)
        .outerjoin(Community, Community.id == Resident.community_id)
    )


def queue_item(
    alarm: Alarm, resident: Resident | None, community: Community | None, rev: int | None
) -> dict[str, Any]:
    """An alarm as a queue line: the §5 fields, the revision, who it is about."""
    item = alarm_store.alarm_json(alarm)
    item["rev"] = rev or 0
    item["resident"] = (
        {
            "id": resident.id,
            "name": resident.name,
            "birth_year": resident.birth_year,
            "address": resident.address,
            "community": community.name if community is not None else resident.community_id,
        }
        if resident is not None
        else None
    )
    return item


async def queue(*, session: AsyncSession, limit: int = QUEUE_LIMIT) -> list[dict[str, Any]]:
    """The unresolved alarms, most urgent first, then oldest first."""
    rows = await session.execute(
        _queue_query()
        .where(Alarm.status.in_(_UNRESOLVED))
        .order_by(Alarm.priority, Alarm.created_at, Alarm.id)
        .limit(limit)
    )
    return [queue_item(*row) for row in rows]


async def queue_items(*, session: AsyncSession, alarm_ids: Collection[int]) -> list[dict[str, Any]]:
    """Queue lines of the given alarms, resolved ones included (so screens drop them)."""
    if not alarm_ids:
        return []
    rows = await session.execute(_queue_query().where(Alarm.id.in_(sorted(alarm_ids))))
    return [queue_item(*row) for row in rows]


async def revisions(*, session: AsyncSession) -> dict[int, int]:
    """Revision of every unresolved alarm: how a process notices changes that other
    parts or other processes made (the engine's steps, delivery reports)."""
    rows = await session.execute(
        select(Alarm.id, func.max(EventLog.id))
        .outerjoin(EventLog, EventLog.alarm_id == Alarm.id)
        .where(Alarm.status.in_(_UNRESOLVED))
        .group_by(Alarm.id)
    )
    return {alarm_id: rev or 0 for alarm_id, rev in rows}


def notification_json(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "purpose": n.purpose,
        "step": n.step,
        "round": n.round,
        "recipient": n.recipient_name,
        "recipient_key": n.recipient_key,
        "phone": n.phone,
        "channel": n.channel,
        "status": n.status,
        "provider_status": n.provider_status,
        "attempts": n.attempts,
        "last_error": n.last_error,
        "created_at": n.created_at.isoformat(),
        "sent_at": n.sent_at.isoformat() if n.sent_at else None,
        "updated_at": n.updated_at.isoformat() if n.updated_at else None,
    }


async def alarm_context(
    *, session: AsyncSession, alarm_id: int, now: datetime, tz: ZoneInfo, liveness: tuple[int, int]
) -> dict[str, Any] | None:
    """One alarm for the alarm view: the resident card, the terminal, the contacts,
    the community's workers (those on shift first), every notification with its delivery
    status, and the timeline."""
    found = (await session.execute(_queue_query().where(Alarm.id == alarm_id))).first()
    if found is None:
        return None
    alarm, resident, community, rev = found
    body = queue_item(alarm, resident, community, rev)
    body["resolved_by"] = alarm.resolved_by
    body["resident"] = resident_json(resident, community, now=now, tz=tz) if resident else None
    terminal = await session.get(Terminal, alarm.device_id) if alarm.device_id is not None else None
    body["terminal"] = terminal_json(terminal, now, liveness) if terminal else None
    contacts: list[dict[str, Any]] = []
    workers: list[dict[str, Any]] = []
    if resident is not None:
        contacts = [
            {
                "priority": c.priority,
                "name": c.name,
                "relation": c.relation,
                "phone": c.phone,
                "channel": c.channel,
            }
            for c in await session.scalars(
                select(Contact).where(Contact.resident_id == resident.id).order_by(Contact.priority)
            )
        ]
        found_workers = await session.scalars(
            select(Worker).where(Worker.community_id == resident.community_id).order_by(Worker.id)
        )
        workers = sorted(
            (worker_json(w, now=now, tz=tz) for w in found_workers),
            key=lambda w: not w["on_shift"],
        )
    body["contacts"] = contacts
    body["workers"] = workers
    body["notifications"] = [
        notification_json(n)
        for n in await session.scalars(
            select(Notification).where(Notification.alarm_id == alarm_id).order_by(Notification.id)
        )
    ]
    rows = await alarm_store.timeline(session=session, alarm_id=alarm_id)
    body["timeline"] = [alarm_store.log_json(r) for r in rows]
    body["outcomes"] = [o.value for o in rules.OPERATOR_OUTCOMES]
    return body


def _problem(liveness: tuple[int, int], now: datetime) -> Any:
    interval_s, missed = liveness
    stale = now - timedelta(seconds=interval_s * missed)
    return or_(
        Terminal.connected.is_(False),
        Terminal.last_seen.is_(None),
        Terminal.last_seen <= stale,
        Terminal.battery <= LOW_BATTERY,
    )


def _terminal_query() -> Select[Terminal, Resident | None, Community | None]:
    return (
        select(Terminal, Resident, Community)
        .outerjoin(Resident, Resident.id == Terminal.resident_id)
        .outerjoin(Community, Community.id == Resident.community_id)
    )


def _terminal_item(
    terminal: Terminal,
    resident: Resident | None,
    community: Community | None,
    now: datetime,
    liveness: tuple[int, int],
) -> dict[str, Any]:
    item = terminal_json(terminal, now, liveness)
    item["resident"] = (
        {
            "id": resident.id,
            "name": resident.name,
            "address": resident.address,
            "community": community.name if community else resident.community_id,
        }
        if resident
        else None
    )
    return item


async def terminals(
    *,
    session: AsyncSession,
    now: datetime,
    liveness: tuple[int, int],
    problems_only: bool,
    limit: int,
) -> list[dict[str, Any]]:
    """Offline terminals first, then low batteries, then the rest; with their residents."""
    query = _terminal_query()
    problem = _problem(liveness, now)
    # problems first in SQL, so a city of 10,000 terminals still shows them in the limit
    query = query.where(problem) if problems_only else query.order_by(case((problem, 0), else_=1))
    rows = await session.execute(query.order_by(Terminal.device_id).limit(limit))
    result = [_terminal_item(t, r, c, now, liveness) for t, r, c in rows]
    result.sort(key=lambda t: (t["online"], not t["low_battery"], t["device_id"]))
    return result


async def terminal_items(
    *,
    session: AsyncSession,
    device_ids: Collection[str],
    now: datetime,
    liveness: tuple[int, int],
) -> list[dict[str, Any]]:
    if not device_ids:
        return []
    rows = await session.execute(
        _terminal_query().where(Terminal.device_id.in_(sorted(device_ids)))
    )
    return [_terminal_item(t, r, c, now, liveness) for t, r, c in rows]


async def problem_terminals(
    *, session: AsyncSession, now: datetime, liveness: tuple[int, int]
) -> dict[str, tuple[bool, int | None]]:
    """(online, battery) of each terminal that needs attention now."""
    rows = await session.execute(
        select(Terminal.device_id, Terminal.connected, Terminal.last_seen, Terminal.battery).where(
            _problem(liveness, now)
        )
    )
    interval_s, missed = liveness
    return {
        device_id: (
            is_online(
                connected=connected,
                last_seen=last_seen,
                now=now,
                interval_s=interval_s,
                offline_after_missed=missed,
            ),
            battery,
        )
        for device_id, connected, last_seen, battery in rows
    }
