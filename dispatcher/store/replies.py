"""What comes back from phones: delivery statuses, key presses and SMS replies."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import alarms as rules
from dispatcher.rules.replies import Intent, parse_sms
from dispatcher.store import actions
from dispatcher.store.models import Alarm, EventLog, Notification, PhoneOptOut
from dispatcher.store.notifications import PHONE_CHANNELS, mark_failed, move_on_if_step_dead

log = logging.getLogger("dispatcher.replies")

# callbacks can arrive out of order: a status never replaces a later one
_SMS_RANK = {"accepted": 0, "queued": 0, "sending": 1, "sent": 2}
_SMS_FINAL = {"delivered": 3, "undelivered": 3, "failed": 3, "read": 4}
_CALL_RANK = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3, "answered": 3}
_CALL_FINAL = {"completed": 4, "busy": 4, "no-answer": 4, "failed": 4, "canceled": 4}
_FAILED = {"failed", "undelivered"}


def status_rank(channel: str, status: str) -> int | None:
    ranks = {**_SMS_RANK, **_SMS_FINAL} if channel == "sms" else {**_CALL_RANK, **_CALL_FINAL}
    return ranks.get(status)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a reply did: the alarm it touched, and whether anything changed."""

    alarm_id: int | None = None
    changed: bool = False
    moved: bool = False  # an escalation moved on: wake the engine
    say: str | None = None  # what to answer the person (SMS reply or spoken)


async def record_status(
    *,
    session: AsyncSession,
    notification_id: int,
    sid: str | None,
    status: str,
    error_code: str | None,
    now: datetime,
) -> Outcome:
    n = await session.get(Notification, notification_id, with_for_update=True)
    if n is None or (n.provider_sid and sid and n.provider_sid != sid):
        log.warning("status %r for unknown notification %s (%s)", status, notification_id, sid)
        return Outcome()
    rank = status_rank(n.channel, status)
    current = status_rank(n.channel, n.provider_status or "") if n.provider_status else -1
    if rank is None or current is None or rank <= current:
        return Outcome(n.alarm_id)  # older than what we know, or a status we do not track
    n.provider_status = status
    n.provider_sid = n.provider_sid or sid
    n.updated_at = now
    moved = False
    if status in _FAILED:
        moved = await mark_failed(
            session=session, n=n, error=f"Twilio: {status} (error {error_code})", now=now
        )
    elif status in {"delivered", "completed"}:
        n.status = "delivered"
    elif status in {"busy", "no-answer", "canceled"}:
        n.status = "unanswered"
    if status in _SMS_FINAL or status in _CALL_FINAL:
        session.add(
            EventLog(
                at=now,
                kind="notification_status",
                alarm_id=n.alarm_id,
                actor="twilio",
                data={
                    "notification_id": n.id,
                    "channel": n.channel,
                    "recipient": n.recipient_name,
                    "status": status,
                    "error_code": error_code,
                },
            )
        )
    return Outcome(n.alarm_id, changed=True, moved=moved)


async def take(*, session: AsyncSession, n: Notification, via: str, now: datetime) -> Outcome:
    """The person of `n` takes the alarm (pressed or replied 1)."""
    try:
        await actions.acknowledge(
            session=session,
            alarm_id=n.alarm_id,
            by=n.recipient_name,
            now=now,
            via=via,
            recipient_key=n.recipient_key,
        )
    except rules.TransitionError as exc:
        return Outcome(n.alarm_id, say=exc.message)
    return Outcome(n.alarm_id, changed=True)


async def decline(*, session: AsyncSession, n: Notification, via: str, now: datetime) -> Outcome:
    """The person cannot go: their notifications of this step are over; if nobody of
    the step is left, the next step fires now."""
    await session.execute(
        update(Notification)
        .where(
            Notification.alarm_id == n.alarm_id,
            Notification.recipient_key == n.recipient_key,
            Notification.step == n.step,
            Notification.round == n.round,
            Notification.purpose == n.purpose,
        )
        .values(status="declined", updated_at=now)
    )
    session.add(
        EventLog(
            at=now,
            kind="declined",
            alarm_id=n.alarm_id,
            actor=n.recipient_name,
            data={"via": via, "recipient_key": n.recipient_key, "step": n.step},
        )
    )
    await session.refresh(n)
    moved = await move_on_if_step_dead(
        session=session, n=n, now=now, why=f"{n.recipient_name} cannot go"
    )
    return Outcome(n.alarm_id, changed=True, moved=moved)


async def key_pressed(
    *, session: AsyncSession, notification_id: int, digits: str, now: datetime
) -> Outcome:
    n = await session.get(Notification, notification_id)
    if n is None:
        return Outcome()
    if digits == "1":
        return await take(session=session, n=n, via="voice", now=now)
    if digits == "2":
        return await decline(session=session, n=n, via="voice", now=now)
    return Outcome(n.alarm_id)


async def sms_received(*, session: AsyncSession, phone: str, body: str, now: datetime) -> Outcome:
    reply = parse_sms(body)
    if reply.intent is Intent.STOP:
        if await session.get(PhoneOptOut, phone) is None:
            session.add(PhoneOptOut(phone=phone, opted_out_at=now))
        return Outcome(changed=True, say="您已退订一键通通知。回复START可重新订阅。")
    if reply.intent is Intent.START:
        await session.execute(delete(PhoneOptOut).where(PhoneOptOut.phone == phone))
        return Outcome(changed=True, say="您已重新订阅一键通通知。")
    # the alarms this phone was asked to help with, newest first
    rows = list(
        await session.execute(
            select(Notification, Alarm.status)
            .join(Alarm, Alarm.id == Notification.alarm_id)
            .where(
                Notification.phone == phone,
                Notification.channel.in_(PHONE_CHANNELS),
                Notification.purpose.in_(["step", "summary"]),
            )
            .order_by(Alarm.id.desc(), Notification.id.desc())
        )
    )
    if not rows:
        log.warning("SMS from unknown number %s ignored: %r", phone, body[:200])
        return Outcome()
    if reply.intent is Intent.UNKNOWN:
        return Outcome(say="请回复1表示能去，回复2表示不能去；多起报警时请加编号，如：1 23")
    if reply.code is not None:
        chosen = next((n for n, _ in rows if n.alarm_id == reply.code), None)
        if chosen is None:
            return Outcome(say=f"未找到编号{reply.code}的报警，请核对后重新回复。")
    else:
        chosen = next((n for n, status in rows if status == "open"), None)
        if chosen is None:
            return Outcome(say="您没有待处理的报警，谢谢。")
    if reply.intent is Intent.ACCEPT:
        outcome = await take(session=session, n=chosen, via="sms", now=now)
        if outcome.changed:
            return Outcome(
                outcome.alarm_id, True, say=f"已确认由您前往（编号{chosen.alarm_id}），谢谢！"
            )
        return outcome
    outcome = await decline(session=session, n=chosen, via="sms", now=now)
    return Outcome(outcome.alarm_id, True, outcome.moved, say="已收到，我们将联系其他人。")
