"""Alarms found by status, local dates, community, kind and resident: the list of
`GET /api/alarms`, its pages, and the CSV export of `GET /api/alarms.csv`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules.alarms import Status
from dispatcher.store import alarms as alarm_store
from dispatcher.store.models import Alarm, Community, Resident
from dispatcher.views.residents import like_pattern

EXPORT_PAGE = 500

# an alarm, its resident and community, and how many terminals it holds (an outage)
Row = tuple[Alarm, Resident | None, Community | None, int | None]


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    status: Status | None = None
    """None: any status."""
    newest_first: bool = False
    """The history's order; else the queue's (most urgent, then oldest, first)."""
    start: datetime | None = None
    end: datetime | None = None
    """Created in [start, end): the UTC bounds of the local dates asked for."""
    community: str | None = None
    kind: str | None = None
    q: str = ""
    """Part of the resident's name or id, or of the terminal's id."""


def _query(f: AlarmFilter) -> Select[Alarm, Resident | None, Community | None, int | None]:
    query = (
        select(Alarm, Resident, Community, alarm_store.members())
        .outerjoin(Resident, Resident.id == Alarm.resident_id)
        .outerjoin(Community, Community.id == Alarm.community_id)
    )
    if f.status is not None:
        query = query.where(Alarm.status == f.status.value)
    if f.start is not None:
        query = query.where(Alarm.created_at >= f.start)
    if f.end is not None:
        query = query.where(Alarm.created_at < f.end)
    if f.community is not None:
        query = query.where(Alarm.community_id == f.community)
    if f.kind is not None:
        query = query.where(Alarm.kind == f.kind)
    text = f.q.strip()
    if text:
        pattern = like_pattern(text)
        query = query.where(
            or_(
                Resident.name.ilike(pattern, escape="\\"),
                Alarm.resident_id.ilike(pattern, escape="\\"),
                Alarm.device_id.ilike(pattern, escape="\\"),
            )
        )
    if f.newest_first:
        return query.order_by(Alarm.created_at.desc(), Alarm.id.desc())
    return query.order_by(Alarm.priority, Alarm.created_at, Alarm.id)


def _older_than(created_at: datetime, alarm_id: int) -> Any:
    """After (created_at, id) in newest-first order: keyset paging, no OFFSET."""
    return or_(
        Alarm.created_at < created_at,
        and_(Alarm.created_at == created_at, Alarm.id < alarm_id),
    )


async def find(
    *, session: AsyncSession, f: AlarmFilter, limit: int, before: int | None = None
) -> list[Row]:
    """At most `limit` alarms; `before` (an alarm id, newest-first order only): those
    after it, the next page. An unknown `before` gives an empty page."""
    query = _query(f)
    if before is not None:
        mark = await session.get(Alarm, before)
        if mark is None:
            return []
        query = query.where(_older_than(mark.created_at, mark.id))
    return [(a, r, c, m) for a, r, c, m in await session.execute(query.limit(limit))]


async def every(*, session: AsyncSession, f: AlarmFilter) -> AsyncIterator[list[Row]]:
    """Every alarm of the filter, newest first, page by page (an export of a year of a
    city never sits in memory whole)."""
    query = _query(replace(f, newest_first=True))
    last: tuple[datetime, int] | None = None
    while True:
        page_query = query if last is None else query.where(_older_than(*last))
        page = [(a, r, c, m) for a, r, c, m in await session.execute(page_query.limit(EXPORT_PAGE))]
        if not page:
            return
        yield page
        last = (page[-1][0].created_at, page[-1][0].id)


def line(
    alarm: Alarm, resident: Resident | None, community: Community | None, members: int | None
) -> dict[str, Any]:
    """An alarm as the history shows it: the §5 and §7 fields, who it is about and where."""
    item = alarm_store.alarm_json(alarm, members)
    item["community"] = community.name if community is not None else alarm.community_id
    item["resolved_by"] = alarm.resolved_by
    item["resident"] = (
        {"id": resident.id, "name": resident.name, "address": resident.address}
        if resident is not None
        else None
    )
    return item


CSV_COLUMNS = (
    "id",
    "created_at",
    "community_id",
    "community",
    "resident_id",
    "resident",
    "device_id",
    "kind",
    "type",
    "status",
    "priority",
    "acknowledged_at",
    "acknowledged_by",
    "arrived_at",
    "resolved_at",
    "resolved_by",
    "outcome",
    "note",
)


def csv_row(
    alarm: Alarm,
    resident: Resident | None,
    community: Community | None,
    _members: int | None,
    tz: ZoneInfo,
) -> list[str]:
    """Times in the city's time zone, with their offset; empty cells for none. Text
    typed by people cannot start a spreadsheet formula."""

    def at(value: datetime | None) -> str:
        return value.astimezone(tz).isoformat() if value is not None else ""

    return [
        str(alarm.id),
        at(alarm.created_at),
        alarm.community_id or "",
        _text(community.name if community is not None else ""),
        alarm.resident_id or "",
        _text(resident.name if resident is not None else ""),
        alarm.device_id or "",
        alarm.kind,
        alarm.type,
        alarm.status,
        str(alarm.priority),
        at(alarm.acknowledged_at),
        _text(alarm.acknowledged_by or ""),
        at(alarm.arrived_at),
        at(alarm.resolved_at),
        _text(alarm.resolved_by or ""),
        alarm.outcome or "",
        _text(alarm.note or ""),
    ]


def _text(value: str) -> str:
    # a cell starting with = + - @ is a formula to Excel (CSV injection): quote it
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
