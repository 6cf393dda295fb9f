"""What comes back from phones: delivery statuses, key presses and SMS replies.

The rules decide (`rules.notifications.provider_report`, `rules.replies.parse_sms`,
`rules.alarms`); what the person is told back is a catalog phrase, said in their
language by the web layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.catalog import Phrase
from dispatcher.rules import alarms as rules
from dispatcher.rules import notifications as notification_rules
from dispatcher.rules.notifications import PHONE_CHANNELS, Purpose, Status
from dispatcher.rules.replies import Intent, parse_sms
from dispatcher.store import actions
from dispatcher.store.alarms import get_alarm
from dispatcher.store.event_log import log_entry
from dispatcher.store.models import Alarm, Notification, PhoneOptOut
from dispatcher.store.notifications import locked, mark_failed, move_on_if_step_dead

log = logging.getLogger("dispatcher.replies")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a reply did: the alarm it touched, and whether anything changed."""

    alarm_id: int | None = None
    changed: bool = False
    moved: bool = False  # an escalation moved on: wake the engine
    say: Phrase | None = None  # what to answer the person (SMS reply or spoken)
    language: str = "zh-CN"  # theirs, as our messages to them were


async def record_status(
    *,
    session: AsyncSession,
    notification_id: int,
    sid: str | None,
    status: str,
    error_code: str | None,
    now: datetime,
) -> Outcome:
    n = await locked(session=session, notification_id=notification_id)
    if n is None or (n.provider_sid and sid and n.provider_sid != sid):
        log.warning("status %r for unknown notification %s (%s)", status, notification_id, sid)
        return Outcome()
    report = notification_rules.provider_report(n.channel, n.provider_status, status)
    if report is None:
        return Outcome(n.alarm_id)  # older than what we know, or a status we do not track
    n.provider_status = report.provider_status
    n.provider_sid = n.provider_sid or sid
    n.updated_at = now
    moved = False
    if report.failed:
        moved = await mark_failed(
            session=session, n=n, error=f"Twilio: {status} (error {error_code})", now=now
        )
    elif report.status is not None:
        n.status = report.status
    if report.final:
        session.add(
            log_entry(
                "notification_status",
                at=now,
                actor="twilio",
                alarm_id=n.alarm_id,
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


def _refused(exc: rules.TransitionError) -> Phrase:
    if exc.reason == "taken":
        return Phrase("reply.already_taken", {"who": exc.taken_by or ""})
    return Phrase("reply.already_resolved")


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
        return Outcome(n.alarm_id, say=_refused(exc), language=n.language)
    return Outcome(n.alarm_id, changed=True, language=n.language)


async def decline(*, session: AsyncSession, n: Notification, via: str, now: datetime) -> Outcome:
    """The person cannot go: their notifications of this step are over; if nobody of
    the step is left, the next step fires now."""
    # the alarm's lock before its notifications' (the one lock order)
    await get_alarm(session=session, alarm_id=n.alarm_id, for_update=True)
    await session.execute(
        update(Notification)
        .where(
            Notification.alarm_id == n.alarm_id,
            Notification.recipient_key == n.recipient_key,
            Notification.step == n.step,
            Notification.round == n.round,
            Notification.purpose == n.purpose,
        )
        .values(status=Status.DECLINED, updated_at=now)
    )
    session.add(
        log_entry(
            "declined",
            at=now,
            actor=n.recipient_name,
            alarm_id=n.alarm_id,
            data={"via": via, "recipient_key": n.recipient_key, "step": n.step},
        )
    )
    await session.refresh(n)
    moved = await move_on_if_step_dead(
        session=session, n=n, now=now, why=f"{n.recipient_name} cannot go"
    )
    return Outcome(n.alarm_id, changed=True, moved=moved, language=n.language)


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
    return Outcome(n.alarm_id, language=n.language)


async def sms_received(*, session: AsyncSession, phone: str, body: str, now: datetime) -> Outcome:
    reply = parse_sms(body)
    # the alarms this phone was asked to help with, newest first
    rows = list(
        await session.execute(
            select(Notification, Alarm.status)
            .join(Alarm, Alarm.id == Notification.alarm_id)
            .where(
                Notification.phone == phone,
                Notification.channel.in_(PHONE_CHANNELS),
                Notification.purpose.in_([Purpose.STEP, Purpose.SUMMARY]),
            )
            .order_by(Alarm.id.desc(), Notification.id.desc())
        )
    )
    # answered in the language we wrote to them in
    language = rows[0][0].language if rows else "zh-CN"
    if reply.intent is Intent.STOP:
        if await session.get(PhoneOptOut, phone) is None:
            session.add(PhoneOptOut(phone=phone, opted_out_at=now))
        return Outcome(changed=True, say=Phrase("reply.stopped"), language=language)
    if reply.intent is Intent.START:
        await session.execute(delete(PhoneOptOut).where(PhoneOptOut.phone == phone))
        return Outcome(changed=True, say=Phrase("reply.started"), language=language)
    if not rows:
        log.warning("SMS from unknown number %s ignored: %r", phone, body[:200])
        return Outcome()
    if reply.intent is Intent.UNKNOWN:
        return Outcome(say=Phrase("reply.help"), language=language)
    if reply.code is not None:
        chosen = next((n for n, _ in rows if n.alarm_id == reply.code), None)
        if chosen is None:
            return Outcome(
                say=Phrase("reply.unknown_code", {"code": reply.code}), language=language
            )
    else:
        chosen = next((n for n, status in rows if status == "open"), None)
        if chosen is None:
            return Outcome(say=Phrase("reply.nothing_open"), language=language)
    if reply.intent is Intent.ACCEPT:
        outcome = await take(session=session, n=chosen, via="sms", now=now)
        if outcome.changed:
            return Outcome(
                outcome.alarm_id,
                changed=True,
                say=Phrase("reply.taken", {"code": chosen.alarm_id}),
                language=chosen.language,
            )
        return outcome
    outcome = await decline(session=session, n=chosen, via="sms", now=now)
    return Outcome(
        outcome.alarm_id,
        changed=True,
        moved=outcome.moved,
        say=Phrase("reply.declined"),
        language=chosen.language,
    )
