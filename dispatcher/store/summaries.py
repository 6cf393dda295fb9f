"""Alarms held back by the throttle reach their phone as one summary SMS."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules.throttle import Throttle
from dispatcher.store import outbox
from dispatcher.store.models import Alarm, Notification, Resident
from dispatcher.store.notifications import sent_in_window


async def summarise_held(*, session: AsyncSession, now: datetime, throttle: Throttle) -> int:
    """Queue one summary per phone that has held rows and room left in its window;
    returns how many summaries were queued."""
    rows = list(
        await session.execute(
            select(Notification, Alarm.status, Resident.name)
            .join(Alarm, Alarm.id == Notification.alarm_id)
            .outerjoin(Resident, Resident.id == Alarm.resident_id)
            .where(Notification.status == "held")
            .order_by(Notification.id)
        )
    )
    by_phone: dict[str, list[tuple[Notification, str | None]]] = defaultdict(list)
    for n, status, name in rows:
        if status != "open" and n.purpose == "step":
            n.status = "cancelled"  # taken meanwhile: nothing to tell
            n.updated_at = now
        elif n.phone:
            by_phone[n.phone].append((n, name))
    if not by_phone:
        return 0
    recent = await sent_in_window(session=session, phones=set(by_phone), now=now, throttle=throttle)
    queued = 0
    for phone, held in by_phone.items():
        first_held_at = min(n.updated_at or now for n, _ in held)
        if not throttle.may_summarise(recent.get(phone, 0), first_held_at, now):
            continue
        alarms: dict[int, str] = {}
        for n, resident_name in held:
            alarms.setdefault(n.alarm_id, resident_name or n.recipient_name)
            n.status = "summarized"
            n.updated_at = now
        first = held[0][0]
        row = {
            **outbox.base_row(
                alarm_id=max(alarms),
                purpose="summary",
                recipient_key=f"{first.recipient_key}#summary{first.id}",
                recipient_name=first.recipient_name,
                phone=phone,
                language=first.language,
                channel="sms",
                now=now,
            ),
            "body": {"alarms": [[aid, name] for aid, name in sorted(alarms.items())]},
        }
        queued += await outbox.queue(session, [row])
    return queued
