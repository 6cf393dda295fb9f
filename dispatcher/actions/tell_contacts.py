"""Relatives hear how it ended (docs/daily-care.md): when an emergency is taken, and again
when it is closed, the resident's contacts who were told of it (and contact 1 always)
get an SMS in their own language, through the outbox and its throttle.

Queued in the transaction of the ack or the close. Each contact gets each of the two
once per alarm (the outbox's key), whatever is retried.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules.notifications import Purpose
from dispatcher.rules.policy import AlarmKind
from dispatcher.store import outbox
from dispatcher.store.models import Alarm, Contact, Notification, Resident


def who_took(via: str, recipient_key: str | None) -> str:
    """The role a relative is told of: the operator at the dashboard, or the worker,
    relative or provider who answered their phone."""
    if via == "dashboard" or recipient_key is None:
        return "operator"
    kind = recipient_key.partition(":")[0]
    return kind if kind in {"worker", "contact", "provider", "supervisor"} else "operator"


async def tell_contacts(
    *,
    session: AsyncSession,
    alarm: Alarm,
    purpose: Purpose,
    body: dict[str, Any],
    now: datetime,
    skip_key: str | None = None,
) -> int:
    """Queue the SMS of `purpose` (TOLD_TAKEN, TOLD_CLOSED) to the contacts of an
    emergency who were notified of it, and contact 1; not to `skip_key`, the one who
    took it. Returns how many were queued."""
    if alarm.kind != AlarmKind.EMERGENCY or alarm.resident_id is None:
        return 0
    resident = await session.get(Resident, alarm.resident_id)
    if resident is None:
        return 0
    told = select(Notification.recipient_key).where(
        Notification.alarm_id == alarm.id,
        Notification.recipient_key.like("contact:%"),
        # it went out, alone or in a summary: a cancelled or held one told nobody
        or_(Notification.sent_at.is_not(None), Notification.status == "summarized"),
    )
    keys = set(await session.scalars(told))
    contacts = await session.scalars(
        select(Contact).where(Contact.resident_id == resident.id).order_by(Contact.priority)
    )
    rows = [
        outbox.base_row(
            alarm_id=alarm.id,
            purpose=purpose,
            recipient_key=f"contact:{c.id}",
            recipient_name=c.name,
            phone=c.phone,
            language=c.language or resident.language,
            channel="sms",
            now=now,
            body=body,
        )
        for c in contacts
        if (c.priority == 1 or f"contact:{c.id}" in keys) and f"contact:{c.id}" != skip_key
    ]
    return await outbox.add(session, rows)


async def tell_closed(*, session: AsyncSession, alarm: Alarm, now: datetime) -> None:
    """After a close, by whoever: the contacts who were told hear how it ended."""
    if alarm.outcome is not None:
        await tell_contacts(
            session=session,
            alarm=alarm,
            purpose=Purpose.TOLD_CLOSED,
            body={"outcome": alarm.outcome},
            now=now,
        )
