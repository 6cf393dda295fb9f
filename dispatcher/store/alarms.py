"""Reading and changing alarms for the API; the rules decide, this only stores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import alarms as rules
from dispatcher.store.models import Alarm, EventLog


def alarm_json(alarm: Alarm) -> dict[str, Any]:
    """The fields of DESIGN.md §5, plus what the dashboard needs beside them."""
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


async def list_alarms(
    *, session: AsyncSession, status: rules.Status | None, limit: int
) -> list[Alarm]:
    query = select(Alarm)
    if status is not None:
        query = query.where(Alarm.status == status.value)
    if status is rules.Status.RESOLVED:
        query = query.order_by(Alarm.resolved_at.desc())
    else:
        # the queue an operator works: most urgent first, then oldest first
        query = query.order_by(Alarm.priority, Alarm.created_at, Alarm.id)
    return list(await session.scalars(query.limit(limit)))


async def get_alarm(
    *, session: AsyncSession, alarm_id: int, for_update: bool = False
) -> Alarm | None:
    query = select(Alarm).where(Alarm.id == alarm_id)
    if for_update:
        query = query.with_for_update()
    alarm: Alarm | None = await session.scalar(query)
    return alarm


async def timeline(*, session: AsyncSession, alarm_id: int) -> list[EventLog]:
    return list(
        await session.scalars(
            select(EventLog).where(EventLog.alarm_id == alarm_id).order_by(EventLog.id)
        )
    )
