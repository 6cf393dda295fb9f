"""The alarm view: one alarm with all that is known around it (resident card, terminal,
contacts, the community's workers, every notification and the timeline). Reads only."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import alarms as rules
from dispatcher.rules.policy import AlarmKind
from dispatcher.store import alarms as alarm_store
from dispatcher.store.models import (
    Alarm,
    Community,
    Contact,
    Notification,
    OutageMember,
    PhoneOptOut,
    Resident,
    Terminal,
    Worker,
)
from dispatcher.views.operators_queue import queue_item, queue_query
from dispatcher.views.residents import provider_json, providers_of, resident_json, worker_json
from dispatcher.views.terminals import online, terminal_json


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
    found = (await session.execute(queue_query().where(Alarm.id == alarm_id))).first()
    if found is None:
        return None
    alarm, resident, community, rev, members = found
    body = queue_item(alarm, resident, community, rev, members)
    body["resolved_by"] = alarm.resolved_by
    home = await session.get(Community, resident.community_id) if resident else None
    body["resident"] = resident_json(resident, home, now=now, tz=tz) if resident else None
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
    if not workers and alarm.community_id is not None:  # an outage: its community's
        body["workers"] = sorted(
            (
                worker_json(w, now=now, tz=tz)
                for w in await session.scalars(
                    select(Worker)
                    .where(Worker.community_id == alarm.community_id)
                    .order_by(Worker.id)
                )
            ),
            key=lambda w: not w["on_shift"],
        )
    body["providers"] = (
        [
            provider_json(p)
            for p in await providers_of(session=session, community_id=alarm.community_id)
        ]
        if alarm.kind == AlarmKind.SERVICE
        else []
    )
    body["outage_members"] = await _outage_members(session, alarm, now, liveness)
    body["notifications"] = [
        notification_json(n)
        for n in await session.scalars(
            select(Notification).where(Notification.alarm_id == alarm_id).order_by(Notification.id)
        )
    ]
    phones = {c["phone"] for c in contacts} | {w["phone"] for w in body["workers"]}
    phones |= {p["phone"] for p in body["providers"]}
    if resident is not None and resident.phone:
        phones.add(resident.phone)
    # who replied STOP gets no SMS: the operator must know to call them instead
    body["sms_opted_out"] = sorted(
        await session.scalars(select(PhoneOptOut.phone).where(PhoneOptOut.phone.in_(phones)))
    )
    rows = await alarm_store.timeline(session=session, alarm_id=alarm_id)
    body["timeline"] = [alarm_store.log_json(r) for r in rows]
    body["outcomes"] = [o.value for o in rules.OPERATOR_OUTCOMES]
    return body


async def _outage_members(
    session: AsyncSession, alarm: Alarm, now: datetime, liveness: tuple[int, int]
) -> list[dict[str, Any]]:
    """Every terminal the outage holds or held: those still down first."""
    rows = await session.execute(
        select(OutageMember, Terminal, Resident)
        .join(Terminal, Terminal.device_id == OutageMember.device_id)
        .outerjoin(Resident, Resident.id == Terminal.resident_id)
        .where(OutageMember.alarm_id == alarm.id)
        .order_by(OutageMember.left_at.is_not(None), OutageMember.device_id, OutageMember.id)
    )
    return [
        {
            "device_id": m.device_id,
            "reason": m.reason,
            "joined_at": m.joined_at.isoformat(),
            "left_at": m.left_at.isoformat() if m.left_at else None,
            "online": online(t, now, liveness),
            "resident": {"id": r.id, "name": r.name, "address": r.address} if r else None,
        }
        for m, t, r in rows
    ]
