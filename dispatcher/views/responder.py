"""What the responder's page shows (docs/api.md): the alarm a link belongs to, seen by
its one recipient. Reads only; the rules of who reads what are `rules.responder`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import responder as rules
from dispatcher.rules.notifications import PHONE_CHANNELS, Purpose, Status
from dispatcher.store.models import (
    Alarm,
    EventLog,
    Notification,
    Resident,
    ResponderLink,
    Worker,
)
from dispatcher.store.responder_links import find


@dataclass(frozen=True, slots=True)
class Other:
    """Someone else asked about the same alarm, and how far they are."""

    name: str
    kind: str  # worker, contact, provider
    declined: bool


@dataclass(frozen=True, slots=True)
class ResponderView:
    link: ResponderLink
    n: Notification  # the message the link came in: whose it is, in which language
    alarm: Alarm
    resident: Resident | None
    medical: str | None  # None: not for this person now
    location: tuple[float, float] | None  # (lat, lon)
    others: tuple[Other, ...]
    buttons: tuple[rules.Button, ...]

    @property
    def provider(self) -> bool:
        return rules.kind_of(self.n.recipient_key) == "provider"


# how far back a terminal's events are searched for the last one that said where it was
_LOOK_BACK = 20


def _loc(data: object) -> tuple[float, float] | None:
    loc = data.get("loc") if isinstance(data, dict) else None
    if isinstance(loc, dict) and isinstance(loc.get("lat"), int | float):
        return float(loc["lat"]), float(loc["lon"])
    return None


async def last_location(session: AsyncSession, device_id: str | None) -> tuple[float, float] | None:
    """The terminal's last reported `loc` (of its last few events that carried one)."""
    if device_id is None:
        return None
    return (await last_locations(session, {device_id})).get(device_id)


async def last_locations(
    session: AsyncSession, device_ids: set[str]
) -> dict[str, tuple[float, float]]:
    """`last_location` of many terminals in one query (the map's hundreds)."""
    if not device_ids:
        return {}
    newest = func.row_number().over(partition_by=EventLog.device_id, order_by=EventLog.id.desc())
    recent = (
        select(EventLog.device_id, EventLog.id, EventLog.data, newest.label("n"))
        .where(EventLog.device_id.in_(device_ids), EventLog.kind == "device_event")
        .subquery()
    )
    rows = await session.execute(
        select(recent.c.device_id, recent.c.data)
        .where(recent.c.n <= _LOOK_BACK)
        .order_by(recent.c.device_id, recent.c.id.desc())
    )
    found: dict[str, tuple[float, float]] = {}
    for device_id, data in rows:
        place = _loc(data)
        if device_id not in found and place is not None:
            found[device_id] = place
    return found


async def responder_view(
    *, session: AsyncSession, token: str, now: datetime
) -> ResponderView | None:
    """The page of `token`, or None: unknown, or the link has expired."""
    link = await find(session=session, token=token)
    if link is None:
        return None
    alarm = await session.get(Alarm, link.alarm_id)
    n = await session.get(Notification, link.notification_id)
    if alarm is None or n is None:
        return None
    if not rules.works(status=alarm.status, resolved_at=alarm.resolved_at, now=now):
        return None
    resident = await session.get(Resident, alarm.resident_id) if alarm.resident_id else None
    worker_community = None
    if rules.kind_of(link.recipient_key) == "worker":
        worker = await session.get(Worker, link.recipient_key.partition(":")[2])
        worker_community = worker.community_id if worker is not None else None
    reads = rules.reads_medical(
        recipient_key=link.recipient_key,
        worker_community=worker_community,
        alarm_community=alarm.community_id,
        status=alarm.status,
    )
    location = await last_location(session, alarm.device_id)
    if location is None and resident is not None and resident.lat is not None:
        location = (resident.lat, resident.lon or 0.0)
    return ResponderView(
        link=link,
        n=n,
        alarm=alarm,
        resident=resident,
        medical=(resident.medical or "") if reads and resident is not None else None,
        location=location,
        others=await _others(session, alarm.id, link.recipient_key),
        buttons=rules.buttons(
            provider=rules.kind_of(link.recipient_key) == "provider",
            status=alarm.status,
            arrived=alarm.arrived_at is not None,
        ),
    )


async def _others(session: AsyncSession, alarm_id: int, me: str) -> tuple[Other, ...]:
    """Everyone else asked by phone about the alarm, once each, in the order asked."""
    found: dict[str, Other] = {}
    for n in await session.scalars(
        select(Notification)
        .where(
            Notification.alarm_id == alarm_id,
            Notification.channel.in_(PHONE_CHANNELS),
            Notification.purpose.in_([Purpose.STEP, Purpose.SERVICE]),
            Notification.recipient_key != me,
        )
        .order_by(Notification.id)
    ):
        key = n.recipient_key.partition("#")[0]
        kind = rules.kind_of(key)
        if kind not in {"worker", "contact", "provider"}:
            continue
        declined = n.status == Status.DECLINED or (key in found and found[key].declined)
        found[key] = Other(n.recipient_name, kind, declined)
    return tuple(found.values())
