"""What comes back from phones: delivery statuses, key presses and SMS replies.

The rules decide (`rules.notifications.provider_report`, `rules.replies`,
`rules.alarms`, `rules.service`); what the person is told back is a catalog phrase,
said in their language by the web layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.actions import alarms as actions
from dispatcher.actions import service as service_requests
from dispatcher.catalog import Phrase
from dispatcher.engine.escalation import load_supervisors
from dispatcher.rules import alarms as rules
from dispatcher.rules import notifications as notification_rules
from dispatcher.rules import replies as reply_rules
from dispatcher.rules.notifications import PHONE_CHANNELS, Purpose, Status
from dispatcher.rules.replies import Action, Intent, parse_sms
from dispatcher.rules.service import ServiceState
from dispatcher.store import outbox
from dispatcher.store.alarms import get_alarm
from dispatcher.store.db import is_postgresql
from dispatcher.store.deliveries import confirm_sent, locked, mark_failed, move_on_if_step_dead
from dispatcher.store.event_log import log_entry, notification_entry
from dispatcher.store.models import (
    Alarm,
    Community,
    InboundSms,
    Notification,
    PhoneOptOut,
    ProviderReply,
    Resident,
)

log = logging.getLogger("dispatcher.replies")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a reply did: the alarm it touched, and whether anything changed."""

    alarm_id: int | None = None
    changed: bool = False
    moved: bool = False  # an escalation moved on: wake the engine
    say: Phrase | None = None  # what to answer the person (SMS reply or spoken)
    language: str = "zh-CN"  # theirs, as our messages to them were
    queued: bool = False  # messages were queued (supervisors told): wake the notifier


async def record_status(
    *,
    session: AsyncSession,
    notification_id: int,
    sid: str | None,
    status: str,
    error_code: str | None,
    now: datetime,
    provider: str = "twilio",
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
    if notification_rules.confirmed_by_report(Status(n.status), doubted=n.doubted_at is not None):
        # its send was in doubt (no answer in time): it went, so it does not go again
        confirm_sent(session=session, n=n, now=now, actor=provider)
    moved = False
    if report.failed:
        moved = await mark_failed(
            session=session,
            n=n,
            error=f"{provider.capitalize()}: {status} (error {error_code})",
            now=now,
        )
    elif report.status is not None:
        n.status = report.status
    if report.final:
        session.add(
            notification_entry(
                "notification_status",
                n,
                at=now,
                actor=provider,
                data={"status": status, "error_code": error_code},
            )
        )
    return Outcome(n.alarm_id, changed=True, moved=moved)


def _refused(exc: rules.TransitionError, language: str, alarm_id: int) -> Outcome:
    if exc.reason == "taken":
        say = Phrase("reply.already_taken", {"who": exc.taken_by or ""})
    else:
        say = Phrase("reply.already_resolved")
    return Outcome(alarm_id, say=say, language=language)


def _provider_id(n: Notification) -> str | None:
    kind, _, ident = n.recipient_key.partition(":")
    return ident if kind == "provider" else None


async def act(
    *, session: AsyncSession, n: Notification, action: Action, via: str, now: datetime, tell: bool
) -> Outcome:
    """What the person of `n` said, about its alarm: take it, decline, at the door, or
    (a provider) accepted or done. Refusals (taken by another, closed) are answered."""
    alarm_id = n.alarm_id
    if alarm_id is None:
        return Outcome()
    code: dict[str, object] = {"code": alarm_id}
    try:
        match action:
            case Action.TAKE:
                await actions.acknowledge(
                    session=session,
                    alarm_id=alarm_id,
                    by=n.recipient_name,
                    now=now,
                    via=via,
                    recipient_key=n.recipient_key,
                    tell=tell,
                )
                say = Phrase("reply.taken", code)
            case Action.DECLINE:
                return await decline(session=session, n=n, via=via, now=now)
            case Action.ARRIVE:
                await actions.arrived(
                    session=session, alarm_id=alarm_id, by=n.recipient_name, via=via, now=now
                )
                say = Phrase("reply.arrived", code)
            case Action.SERVICE_ACCEPTED | Action.SERVICE_DONE:
                state = (
                    ServiceState.ACCEPTED
                    if action is Action.SERVICE_ACCEPTED
                    else ServiceState.DONE
                )
                await service_requests.set_state(
                    session=session,
                    alarm_id=alarm_id,
                    state=state,
                    by=n.recipient_name,
                    via=via,
                    now=now,
                    provider_id=_provider_id(n),
                    tell=tell,
                )
                say = Phrase(f"reply.{action.value}", code)
    except rules.TransitionError as exc:
        return _refused(exc, n.language, alarm_id)
    return Outcome(alarm_id, changed=True, say=say, language=n.language)


async def decline(*, session: AsyncSession, n: Notification, via: str, now: datetime) -> Outcome:
    """The person cannot go: their notifications of this step are over; if nobody of
    the step is left, the next step fires now."""
    if n.alarm_id is not None:
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
    return Outcome(
        n.alarm_id,
        changed=True,
        moved=moved,
        say=Phrase("reply.declined"),
        language=n.language,
    )


# the keys of a call: 1 takes (a provider: accepts), 2 declines, 3 is at the door
_KEYS = {"1": Intent.ACCEPT, "2": Intent.DECLINE, "3": Intent.ARRIVED}


async def key_pressed(
    *,
    session: AsyncSession,
    notification_id: int,
    digits: str,
    now: datetime,
    call_sid: str,
    tell: bool = True,
) -> Outcome:
    """A key in a call. It acts once per call, notification and key (Twilio's
    `CallSid`, `Digits`): a signed callback replayed, by Twilio retrying or by whoever
    copied it, is answered as the first and changes nothing."""
    n = await session.get(Notification, notification_id)
    if n is None or n.alarm_id is None:
        return Outcome()
    intent = _KEYS.get(digits)
    if intent is None:
        return Outcome(n.alarm_id, language=n.language)
    status = await session.scalar(select(Alarm.status).where(Alarm.id == n.alarm_id))
    asked = reply_rules.Asked(n.id, n.alarm_id, _provider_id(n) is not None, status or "", "")
    decision = reply_rules.decide(reply_rules.Reply(intent, n.alarm_id), [asked])
    if not isinstance(decision, reply_rules.Act):
        return Outcome(n.alarm_id, language=n.language)
    if not await first_reply(session, f"twilio:key:{call_sid}:{n.id}:{digits}", now):
        log.info("key %s of call %s came again; ignored", digits, call_sid)
        return Outcome(n.alarm_id, language=n.language)
    return await act(session=session, n=n, action=decision.action, via="voice", now=now, tell=tell)


async def first_reply(session: AsyncSession, key: str, now: datetime) -> bool:
    """Keep a provider's callback that acts by its own ids; False when it came before."""
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    stmt = insert(ProviderReply).values(key=key[:160], received_at=now).on_conflict_do_nothing()
    result: Any = await session.execute(stmt)
    return bool(result.rowcount)


async def _first_time(
    session: AsyncSession, message_sid: str, phone: str, body: str, now: datetime
) -> bool:
    """Keep the incoming SMS; False when this MessageSid came before (a replay)."""
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    stmt = (
        insert(InboundSms)
        .values(message_sid=message_sid, phone=phone, body=body[:2000], received_at=now)
        .on_conflict_do_nothing()
    )
    result: Any = await session.execute(stmt)
    return bool(result.rowcount)


async def _asked(session: AsyncSession, phone: str) -> list[tuple[reply_rules.Asked, Notification]]:
    """The alarms this phone was asked to help with, newest first, each once (by its
    newest request)."""
    rows = await session.execute(
        select(Notification, Alarm.status, Resident.name, Community.name)
        .join(Alarm, Alarm.id == Notification.alarm_id)
        .outerjoin(Resident, Resident.id == Alarm.resident_id)
        .outerjoin(Community, Community.id == Alarm.community_id)
        .where(
            Notification.phone == phone,
            Notification.channel.in_(PHONE_CHANNELS),
            Notification.purpose.in_([Purpose.STEP, Purpose.SERVICE]),
        )
        .order_by(Alarm.id.desc(), Notification.id.desc())
    )
    found: dict[int, tuple[reply_rules.Asked, Notification]] = {}
    for n, status, name, community in rows:
        if n.alarm_id is None or n.alarm_id in found:
            continue
        asked = reply_rules.Asked(
            notification_id=n.id,
            alarm_id=n.alarm_id,
            provider=_provider_id(n) is not None,
            status=status,
            about=name or community or "",
        )
        found[n.alarm_id] = (asked, n)
    return list(found.values())


async def _language_of(session: AsyncSession, phone: str) -> tuple[str, str | None]:
    """The language we write to this phone in, and the name we know it by."""
    n = await session.scalar(
        select(Notification)
        .where(Notification.phone == phone, Notification.channel.in_(PHONE_CHANNELS))
        .order_by(Notification.id.desc())
        .limit(1)
    )
    return (n.language, n.recipient_name) if n is not None else ("zh-CN", None)


async def opt_out(
    *, session: AsyncSession, phone: str, word: str, who: str | None, now: datetime
) -> bool:
    """Stop SMS to `phone` (calls still go), and tell the supervisors by SMS and in the
    log. False when it had opted out already (nothing new to tell)."""
    if await session.get(PhoneOptOut, phone) is not None:
        return False
    session.add(PhoneOptOut(phone=phone, opted_out_at=now))
    body = {"who": who, "phone": phone, "word": word}
    session.add(log_entry("opt_out", at=now, actor=who or phone, data=body))
    rows = outbox.sms_rows(
        [p for p in await load_supervisors(session=session) if p.phone != phone],
        purpose=Purpose.OPT_OUT,
        subject=f"opt_out:{phone}:{now.isoformat()}",
        body=body,
        now=now,
    )
    await outbox.add(session, rows)
    return True


async def sms_received(
    *,
    session: AsyncSession,
    phone: str,
    body: str,
    now: datetime,
    message_sid: str | None = None,
    tell: bool = True,
) -> Outcome:
    """An SMS to our number. It acts once per `message_sid` (Twilio's MessageSid, which
    the webhook requires): a replay is answered with nothing and changes nothing. A
    caller without a provider's id keeps replays out itself."""
    if message_sid and not await _first_time(session, message_sid, phone, body, now):
        log.info("SMS %s from %s came again; ignored", message_sid, phone)
        return Outcome()
    reply = parse_sms(body)
    language, who = await _language_of(session, phone)
    if reply.intent is Intent.STOP:
        told = await opt_out(session=session, phone=phone, word=body.strip()[:20], who=who, now=now)
        return Outcome(changed=True, say=Phrase("reply.stopped"), language=language, queued=told)
    if reply.intent is Intent.START:
        await session.execute(delete(PhoneOptOut).where(PhoneOptOut.phone == phone))
        return Outcome(changed=True, say=Phrase("reply.started"), language=language)
    asked = await _asked(session, phone)
    if not asked:
        log.warning("SMS from unknown number %s ignored: %r", phone, body[:200])
        return Outcome()
    decision = reply_rules.decide(reply, [a for a, _ in asked])
    match decision:
        case reply_rules.Act(action=action, asked=chosen):
            n = next(n for a, n in asked if a is chosen)
            return await act(session=session, n=n, action=action, via="sms", now=now, tell=tell)
        case reply_rules.AskWhich(intent=intent, alarms=alarms):
            items = tuple(
                Phrase("reply.which.item", {"name": name, "code": code}) for code, name in alarms
            )
            digit = reply_rules.DIGIT[intent]
            say = Phrase(
                "reply.which",
                {"n": len(alarms), "items": items, "digit": digit, "first": alarms[0][0]},
            )
            return Outcome(say=say, language=language)
        case reply_rules.Tell(why=why, code=code):
            values: dict[str, object] = {"code": code} if code is not None else {}
            return Outcome(say=Phrase(f"reply.{why}", values), language=language)
    return Outcome()
