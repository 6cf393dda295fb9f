"""Alarms held back by the throttle reach their phone as one summary SMS; the rules
(`dispatcher.rules.notifications.summarise`) decide which, this stores."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import notifications as rules
from dispatcher.rules.notifications import Purpose, Status
from dispatcher.rules.throttle import Throttle
from dispatcher.store import outbox
from dispatcher.store.deliveries import sent_in_window
from dispatcher.store.models import Alarm, Notification, Resident


async def summarise_held(*, session: AsyncSession, now: datetime, throttle: Throttle) -> int:
    """Queue one summary per phone that has held rows and room left in its window;
    returns how many summaries were queued."""
    rows = list(
        await session.execute(
            select(Notification, Alarm.status, Resident.name)
            .outerjoin(Alarm, Alarm.id == Notification.alarm_id)
            .outerjoin(Resident, Resident.id == Alarm.resident_id)
            .where(Notification.status == Status.HELD)
            .order_by(Notification.id)
        )
    )
    if not rows:
        return 0
    by_id = {n.id: n for n, _, _ in rows}
    held = [
        rules.Held(
            id=n.id,
            purpose=Purpose(n.purpose),
            phone=n.phone,
            alarm_id=n.alarm_id,
            alarm_open=status == "open",
            alarm_resolved=status == "resolved",
            held_at=n.updated_at or now,
            about=name or _about(n),
        )
        for n, status, name in rows
    ]
    phones = {h.phone for h in held if h.phone}
    decided = rules.summarise(
        held,
        sent_in_window=await sent_in_window(
            session=session, phones=phones, now=now, throttle=throttle
        ),
        throttle=throttle,
        now=now,
    )
    for ident in decided.cancel:
        by_id[ident].status = Status.CANCELLED  # taken meanwhile: nothing to tell
        by_id[ident].updated_at = now
    queued = 0
    for summary in decided.send:
        for ident in summary.held:
            by_id[ident].status = Status.SUMMARIZED
            by_id[ident].updated_at = now
        first = by_id[summary.first]
        row = outbox.base_row(
            alarm_id=max((aid for aid, _ in summary.alarms), default=None),
            subject=f"summary:{first.id}",
            purpose=Purpose.SUMMARY,
            recipient_key=f"{first.recipient_key}#summary{first.id}",
            recipient_name=first.recipient_name,
            phone=summary.phone,
            language=first.language,
            channel="sms",
            now=now,
            body={
                "alarms": [[aid, name] for aid, name in summary.alarms],
                "notes": list(summary.notes),
            },
        )
        queued += await outbox.add(session, [row])
    return queued


def _about(n: Notification) -> str:
    """Whom a held message about no resident was about: its community's summary, or
    the phone that opted out."""
    body = n.body or {}
    return str(body.get("community") or body.get("who") or body.get("phone") or n.recipient_name)
