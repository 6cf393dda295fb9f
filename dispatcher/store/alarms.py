"""Alarms: the one way to open and to close one, and the reads the API makes. The rules
decide; this only stores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import alarms as rules
from dispatcher.rules.outages import OUTAGE
from dispatcher.rules.policy import AlarmKind
from dispatcher.store.db import take_write_lock
from dispatcher.store.event_log import log_entry
from dispatcher.store.models import Alarm, EventLog, OutageMember


def open_alarm(
    *,
    kind: AlarmKind,
    type_: str,
    priority: int,
    device_id: str | None,
    resident_id: str | None,
    community_id: str | None,
    now: datetime,
    since: datetime | None = None,
) -> Alarm:
    """A new alarm, its escalation due at once (the engine fires the policy's first
    step). Not added to a session: ingest inserts a batch's alarms in one statement.
    `since`: when the trouble began, if before now (a terminal down since then)."""
    return Alarm(
        device_id=device_id,
        resident_id=resident_id,
        community_id=community_id,
        since=since,
        kind=kind.value,
        type=type_,
        status=rules.Status.OPEN.value,
        priority=priority,
        created_at=now,
        escalation_started=False,
        step=0,
        round=0,
        next_step_at=now,
        escalation_exhausted=False,
    )


def opened_entry(
    alarm: Alarm,
    *,
    alarm_id: int,
    actor: str,
    now: datetime,
    since: datetime | None = None,
) -> EventLog:
    """The timeline's first line; `alarm_id` since a batch's alarms get theirs later.
    `since`: when what it is about began, if before (a terminal down since then, its
    alarm held for the outage window)."""
    data: dict[str, Any] = {"kind": alarm.kind, "priority": alarm.priority}
    if since is not None:
        data["since"] = since.isoformat()
    return log_entry(
        "alarm_opened",
        at=now,
        actor=actor,
        alarm_id=alarm_id,
        device_id=alarm.device_id,
        type_=alarm.type,
        data=data,
    )


def close_alarm(
    alarm: Alarm,
    *,
    outcome: rules.Outcome,
    by: str,
    now: datetime,
    note: str | None = None,
    by_operator: bool = True,
    actor: str | None = None,
    alarm_id: int | None = None,
    type_: str | None = None,
) -> EventLog:
    """Resolve the alarm (its escalation stops); returns its timeline line: `resolve` when
    a person closed it, `resolved` when the system did (a check-in, a terminal back).
    `alarm_id` for an alarm opened in the same batch (no id yet); `type_` the event that
    closed it, when an event did; `actor` who noticed, when not `by` itself."""
    alarm.status = rules.Status.RESOLVED.value
    alarm.resolved_at = now
    alarm.resolved_by = by
    alarm.outcome = outcome.value
    alarm.next_step_at = None
    if note:
        alarm.note = note
    if by_operator:
        return log_entry(
            "resolve",
            at=now,
            actor=by,
            alarm_id=alarm_id if alarm_id is not None else alarm.id,
            device_id=alarm.device_id,
            data={"outcome": outcome.value, "note": note},
        )
    return log_entry(
        "resolved",
        at=now,
        actor=actor or by,
        alarm_id=alarm_id if alarm_id is not None else alarm.id,
        device_id=alarm.device_id,
        type_=type_ or alarm.type,
        data={"outcome": outcome.value, "by": by},
    )


def member_left(member: OutageMember, *, now: datetime, released: bool = False) -> EventLog:
    """A terminal leaves its outage: the member's row ends, and its outage's timeline
    line. `released`: the outage was closed by hand with the terminal still in it."""
    member.left_at = now
    data: dict[str, Any] = {"reason": member.reason}
    if released:
        data["released"] = True
    return log_entry(
        "outage_left",
        at=now,
        actor="engine",
        alarm_id=member.alarm_id,
        device_id=member.device_id,
        data=data,
    )


def members() -> Any:
    """How many terminals an outage holds now (None for other alarms): a column to
    select beside the alarm."""
    return (
        select(func.count())
        .where(OutageMember.alarm_id == Alarm.id, OutageMember.left_at.is_(None))
        .correlate(Alarm)
        .scalar_subquery()
    )


def alarm_json(alarm: Alarm, members: int | None = None) -> dict[str, Any]:
    """The fields of docs/api.md and docs/daily-care.md, plus what the dashboard needs beside them;
    `members` of an outage (as `members()` selects it)."""
    return {
        "id": alarm.id,
        "device_id": alarm.device_id,
        "resident_id": alarm.resident_id,
        "kind": alarm.kind,
        "type": alarm.type,
        "status": alarm.status,
        "priority": alarm.priority,
        "created_at": _iso(alarm.created_at),
        "acknowledged_at": _iso(alarm.acknowledged_at),
        "acknowledged_by": alarm.acknowledged_by,
        "resolved_at": _iso(alarm.resolved_at),
        "outcome": alarm.outcome,
        "step": alarm.step,
        "round": alarm.round,
        "next_step_at": _iso(alarm.next_step_at),
        "escalation_exhausted": alarm.escalation_exhausted,
        "cancel_requested_at": _iso(alarm.cancel_requested_at),
        "note": alarm.note,
        "community_id": alarm.community_id,
        "arrived_at": _iso(alarm.arrived_at),
        "arrived_by": alarm.arrived_by,
        "provider_id": alarm.provider_id,
        "service_state": alarm.service_state,
        "members": (members or 0) if alarm.type == OUTAGE else None,
    }


def log_json(row: EventLog) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": _iso(row.at),
        "kind": row.kind,
        "type": row.type,
        "actor": row.actor,
        "device_id": row.device_id,
        "event_id": row.event_id,
        "data": row.data,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def member_ids(*, session: AsyncSession, alarm_id: int) -> list[str]:
    """The terminals an outage holds now."""
    return list(
        await session.scalars(
            select(OutageMember.device_id)
            .where(OutageMember.alarm_id == alarm_id, OutageMember.left_at.is_(None))
            .order_by(OutageMember.device_id)
        )
    )


async def get_alarm(
    *, session: AsyncSession, alarm_id: int, for_update: bool = False
) -> Alarm | None:
    """`for_update`: locked until the caller commits, on SQLite too (whose only lock is
    its one writer's), so that two people taking it at once cannot both have it."""
    query = select(Alarm).where(Alarm.id == alarm_id)
    if for_update:
        await take_write_lock(session)
        # NO KEY UPDATE: excludes every other taker of the alarm, but not the key-share
        # lock PostgreSQL takes for a foreign key when a notification row of it changes
        # (the notifier's handover holds notifications and then needs that one)
        query = query.with_for_update(key_share=True)
    alarm: Alarm | None = await session.scalar(query)
    return alarm


async def timeline(*, session: AsyncSession, alarm_id: int) -> list[EventLog]:
    return list(
        await session.scalars(
            select(EventLog).where(EventLog.alarm_id == alarm_id).order_by(EventLog.id)
        )
    )
