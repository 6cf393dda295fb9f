"""A service request closes while its SMS to a provider is queued, being sent, or sent
(docs/daily-care.md); `rules.notifications.service_request_at_close` decides, this
stores. The outcome is one of two, whatever the timing: the SMS never goes, or it goes
and the provider then hears that the request is closed (`sms.service_closed`).

Who sees what first is decided by the SMS's row. The close holds its alarm's lock
(taken first, the one lock order) and locks the alarm's request rows: a row not yet
claimed it cancels, and a claim that comes after finds it cancelled (PostgreSQL: the
claim skips a row the close holds, and reads it again once changed; SQLite: the claim
takes the one write lock before it reads). A row claimed first is being sent: nothing
can call it back, so the notifier, recording its handover (`mark_sent`, the same row's
lock), reads whether the request closed meanwhile and queues the provider's message
then. A handover recorded before the close is the close's to tell. So each provider who
got the request is told once (the outbox's key), after the request itself went out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import notifications as rules
from dispatcher.rules.alarms import Status as AlarmStatus
from dispatcher.rules.notifications import AtClose, Purpose, Status
from dispatcher.rules.policy import AlarmKind
from dispatcher.store import outbox
from dispatcher.store.models import Alarm, Notification


def told_row(n: Notification, *, outcome: str | None, now: datetime) -> dict[str, Any]:
    """The provider of `n` hears that its request is closed: one SMS per provider and
    request, however many times it was sent to them or tried to tell them."""
    return outbox.base_row(
        alarm_id=n.alarm_id,
        purpose=Purpose.TOLD_CLOSED,
        recipient_key=n.recipient_key,
        recipient_name=n.recipient_name,
        phone=n.phone,
        language=n.language,
        channel="sms",
        now=now,
        body={"outcome": outcome},
    )


async def at_close(
    *, session: AsyncSession, alarm: Alarm, now: datetime, closed_by: str | None = None
) -> int:
    """The request `alarm` is closing (the caller holds its lock): its SMS to providers
    not yet sent are cancelled; each provider who has one hears it is closed, except
    `closed_by` (the recipient key of a provider who closed it: they know). Returns how
    many are told now (the ones being sent are told at their handover)."""
    if alarm.kind != AlarmKind.SERVICE:
        return 0  # only a service request is sent to providers (rules.service)
    rows = list(
        await session.scalars(
            select(Notification)
            .where(Notification.alarm_id == alarm.id, Notification.purpose == Purpose.SERVICE)
            .order_by(Notification.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    told: dict[str, dict[str, Any]] = {}
    for n in rows:
        decision = rules.service_request_at_close(Status(n.status), failed_over=bool(n.failover))
        if decision in {AtClose.CANCEL, AtClose.CANCEL_AND_TELL}:
            n.status = Status.CANCELLED
            n.updated_at = now
        if decision in {AtClose.TELL, AtClose.CANCEL_AND_TELL} and n.recipient_key != closed_by:
            told.setdefault(n.recipient_key, told_row(n, outcome=alarm.outcome, now=now))
    return await outbox.add(session, list(told.values()))


async def at_handover(
    *, session: AsyncSession, handed: Sequence[Notification], now: datetime
) -> int:
    """Requests handed over to a provider whose alarm closed while they were being
    sent: their providers hear it is closed. The caller holds these rows' locks, so a
    close either ran before (its alarm is read closed here) or waits, and then finds
    them handed over and tells them itself. Returns how many are queued."""
    requests = [n for n in handed if n.purpose == Purpose.SERVICE and n.channel == "sms"]
    if not requests:
        return 0
    # read now, after the rows' locks: a close that held them has committed
    found = await session.execute(
        select(Alarm.id, Alarm.outcome).where(
            Alarm.id.in_({n.alarm_id for n in requests}), Alarm.status == AlarmStatus.RESOLVED
        )
    )
    closed: dict[int, str | None] = dict(found.all())
    rows = []
    for n in requests:
        resolved = n.alarm_id is not None and n.alarm_id in closed
        if rules.tells_at_handover(Purpose(n.purpose), n.channel, alarm_resolved=resolved):
            rows.append(told_row(n, outcome=closed.get(n.alarm_id or 0), now=now))
    return await outbox.add(session, rows)
