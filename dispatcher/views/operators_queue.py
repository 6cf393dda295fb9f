"""The operators' queue: the unresolved alarms, most urgent first, as queue lines, and
the revision of each (how screens and other processes notice a change)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import alarms as rules
from dispatcher.store import alarms as alarm_store
from dispatcher.store.models import Alarm, Community, EventLog, Resident

QUEUE_LIMIT = 500
_READ_SHARE = 5000
_UNRESOLVED = (rules.Status.OPEN.value, rules.Status.ACKNOWLEDGED.value)


def _rev() -> Any:
    """The newest timeline line of an alarm: grows with every change made to it."""
    return (
        select(func.max(EventLog.id))
        .where(EventLog.alarm_id == Alarm.id)
        .correlate(Alarm)
        .scalar_subquery()
    )


def queue_query() -> Select[Alarm, Resident | None, Community | None, int | None, int]:
    return (
        select(Alarm, Resident, Community, _rev(), alarm_store.members())
        .outerjoin(Resident, Resident.id == Alarm.resident_id)
        # the alarm's own community: an outage has no resident
        .outerjoin(Community, Community.id == Alarm.community_id)
    )


def queue_item(
    alarm: Alarm,
    resident: Resident | None,
    community: Community | None,
    rev: int | None,
    members: int | None = None,
) -> dict[str, Any]:
    """An alarm as a queue line: the §5 and §7 fields, the revision, who it is about."""
    item = alarm_store.alarm_json(alarm, members)
    item["rev"] = rev or 0
    item["community"] = community.name if community is not None else alarm.community_id
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


async def lines(*, session: AsyncSession, limit: int = QUEUE_LIMIT) -> list[dict[str, Any]]:
    """The unresolved alarms, most urgent first, then oldest first."""
    rows = await session.execute(
        queue_query()
        .where(Alarm.status.in_(_UNRESOLVED))
        .order_by(Alarm.priority, Alarm.created_at, Alarm.id)
        .limit(limit)
    )
    return [queue_item(*row) for row in rows]


async def queue_items(*, session: AsyncSession, alarm_ids: Collection[int]) -> list[dict[str, Any]]:
    """Queue lines of the given alarms, resolved ones included (so screens drop them)."""
    ids = sorted(alarm_ids)
    items: list[dict[str, Any]] = []
    # in shares: a storm touches tens of thousands, and asyncpg takes 32,767 values
    for start in range(0, len(ids), _READ_SHARE):
        share = ids[start : start + _READ_SHARE]
        rows = await session.execute(queue_query().where(Alarm.id.in_(share)))
        items.extend(queue_item(*row) for row in rows)
    return items


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
