"""Residents, their contacts and terminals, and the community workers: found and shown.
Administrators edit them through `dispatcher.city_file.edits`, by the rules of the city file."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules.roster import on_shift, parse_shift
from dispatcher.store.models import (
    Alarm,
    Community,
    Contact,
    Provider,
    Resident,
    Terminal,
    Worker,
)
from dispatcher.views.checkins import checkin_json, checkin_today
from dispatcher.views.terminals import terminal_json

SEARCH_LIMIT = 50


def resident_json(
    resident: Resident, community: Community | None, *, now: datetime, tz: ZoneInfo
) -> dict[str, Any]:
    year = now.astimezone(tz).year
    return {
        "id": resident.id,
        "name": resident.name,
        "birth_year": resident.birth_year,
        "age": year - resident.birth_year if resident.birth_year else None,
        "address": resident.address,
        "language": resident.language,
        "medical": resident.medical,
        "medical_withheld": False,
        "community": {
            "id": resident.community_id,
            "name": community.name if community else resident.community_id,
            "street": community.street if community else "",
            "district": community.district if community else "",
        },
        "phone": resident.phone,
        "service_default": resident.service_default,
        "checkin": checkin_json(resident, checkin_today(resident, now=now, tz=tz)),
    }


def worker_json(worker: Worker, *, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    shifts = []
    for raw in worker.shifts or []:
        try:
            shifts.append(parse_shift(raw["days"], raw["start"], raw["end"]))
        except (KeyError, ValueError):
            continue  # shown as stored; `dispatcher load` and the editor refuse bad ones
    return {
        "id": worker.id,
        "community_id": worker.community_id,
        "name": worker.name,
        "phone": worker.phone,
        "shifts": worker.shifts or [],
        "on_shift": on_shift(shifts, now, tz),
    }


def like_pattern(text: str) -> str:
    """`text` anywhere, its LIKE wildcards taken literally (with `escape="\\"`)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(
    *, session: AsyncSession, q: str, limit: int = SEARCH_LIMIT
) -> list[dict[str, Any]]:
    """Residents whose name, address, id, terminal id or a contact's phone contains `q`."""
    query = (
        select(Resident, Community, Terminal.device_id)
        .outerjoin(Community, Community.id == Resident.community_id)
        .outerjoin(Terminal, Terminal.resident_id == Resident.id)
    )
    text = q.strip()
    if text:
        pattern = like_pattern(text)
        phones = select(Contact.resident_id).where(
            Contact.phone.like(like_pattern(text.replace(" ", "")))
        )
        query = query.where(
            or_(
                Resident.name.ilike(pattern, escape="\\"),
                Resident.address.ilike(pattern, escape="\\"),
                Resident.id.ilike(pattern, escape="\\"),
                Terminal.device_id.ilike(pattern, escape="\\"),
                Resident.id.in_(phones),
            )
        )
    rows = await session.execute(query.order_by(Resident.id).limit(limit))
    return [
        {
            "id": r.id,
            "name": r.name,
            "birth_year": r.birth_year,
            "address": r.address,
            "community": c.name if c else r.community_id,
            "terminal": device_id,
        }
        for r, c, device_id in rows
    ]


async def card(
    *,
    session: AsyncSession,
    resident_id: str,
    now: datetime,
    tz: ZoneInfo,
    liveness: tuple[int, int],
) -> dict[str, Any] | None:
    """Everything about one resident: the card, terminal, contacts, the community's
    workers and the last alarms."""
    resident = await session.get(Resident, resident_id)
    if resident is None:
        return None
    community = await session.get(Community, resident.community_id)
    body = resident_json(resident, community, now=now, tz=tz)
    terminal = await session.scalar(select(Terminal).where(Terminal.resident_id == resident_id))
    body["terminal"] = terminal_json(terminal, now, liveness) if terminal else None
    body["contacts"] = [
        {
            "priority": c.priority,
            "name": c.name,
            "relation": c.relation,
            "phone": c.phone,
            "channel": c.channel,
            "language": c.language,
        }
        for c in await session.scalars(
            select(Contact).where(Contact.resident_id == resident_id).order_by(Contact.priority)
        )
    ]
    body["workers"] = [
        worker_json(w, now=now, tz=tz)
        for w in await session.scalars(
            select(Worker).where(Worker.community_id == resident.community_id).order_by(Worker.id)
        )
    ]
    body["alarms"] = [
        {
            "id": a.id,
            "kind": a.kind,
            "type": a.type,
            "status": a.status,
            "created_at": a.created_at.isoformat(),
            "outcome": a.outcome,
        }
        for a in await session.scalars(
            select(Alarm)
            .where(Alarm.resident_id == resident_id)
            .order_by(Alarm.created_at.desc())
            .limit(10)
        )
    ]
    return body


async def communities(
    *, session: AsyncSession, now: datetime, tz: ZoneInfo
) -> list[dict[str, Any]]:
    found = list(await session.scalars(select(Community).order_by(Community.id)))
    workers = list(await session.scalars(select(Worker).order_by(Worker.id)))
    return [
        {
            "id": c.id,
            "name": c.name,
            "street": c.street,
            "district": c.district,
            "workers": [worker_json(w, now=now, tz=tz) for w in workers if w.community_id == c.id],
        }
        for c in found
    ]


async def has_unresolved_alarm(*, session: AsyncSession, resident_id: str) -> bool:
    found = await session.scalar(
        select(Alarm.id)
        .where(Alarm.resident_id == resident_id, Alarm.status != "resolved")
        .limit(1)
    )
    return found is not None


async def has_unresolved_alarms(*, session: AsyncSession, resident_ids: set[str]) -> set[str]:
    """Those of the residents who have an alarm not resolved."""
    if not resident_ids:
        return set()
    found = await session.scalars(
        select(Alarm.resident_id)
        .where(Alarm.resident_id.in_(resident_ids), Alarm.status != "resolved")
        .distinct()
    )
    return {r for r in found if r is not None}


async def record_snapshot(*, session: AsyncSession, resident_id: str) -> dict[str, Any] | None:
    """What an edit of the resident may change, to tell which fields it changed."""
    resident = await session.get(Resident, resident_id)
    if resident is None:
        return None
    terminal = await session.scalar(
        select(Terminal.device_id).where(Terminal.resident_id == resident_id)
    )
    contacts = [
        (c.priority, c.name, c.relation, c.phone, c.channel, c.language)
        for c in await session.scalars(
            select(Contact).where(Contact.resident_id == resident_id).order_by(Contact.priority)
        )
    ]
    return {
        "name": resident.name,
        "birth_year": resident.birth_year,
        "community": resident.community_id,
        "address": resident.address,
        "language": resident.language,
        "medical": resident.medical,
        "terminal": terminal,
        "contacts": contacts,
    }


async def providers_of(*, session: AsyncSession, community_id: str | None) -> list[Provider]:
    """The community's providers of the ten-minute circle, by category then name."""
    if community_id is None:
        return []
    return list(
        await session.scalars(
            select(Provider)
            .where(Provider.community_id == community_id)
            .order_by(Provider.category, Provider.name, Provider.id)
        )
    )


def provider_json(p: Provider) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "category": p.category, "phone": p.phone}
