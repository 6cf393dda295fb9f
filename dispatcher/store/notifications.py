"""The notifier's reads and writes on the outbox.

A row is claimed (status `sending`) and committed before anything is sent, so at most
one attempt is ever in flight, and a crash mid-send is found at the next start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.notify.channels import Outgoing
from dispatcher.notify.texts import AlarmFacts, fit_sms, sms_text, summary_text, voice_text
from dispatcher.rules.policy import AlarmKind
from dispatcher.rules.throttle import Throttle
from dispatcher.store.models import Alarm, EventLog, Notification, PhoneOptOut, Resident

# channels that reach a person's phone: throttled, stopped by STOP, and never retried
# blindly after a crash mid-send (the message may have gone), so nobody gets it twice
PHONE_CHANNELS = ("sms", "voice")


def backoff_s(attempts: int) -> float:
    """2, 4, 8 ... seconds, at most a minute."""
    return float(min(2**attempts, 60))


def facts(alarm: Alarm, resident: Resident | None) -> AlarmFacts:
    return AlarmFacts(
        alarm_id=alarm.id,
        kind=AlarmKind(alarm.kind),
        type=alarm.type,
        resident_name=resident.name if resident else (alarm.device_id or "?"),
        address=resident.address if resident else "",
        short_code=str(alarm.id),
    )


def render(n: Notification, alarm: Alarm, resident: Resident | None) -> str:
    f = facts(alarm, resident)
    if n.channel == "voice":
        return voice_text(f, language=n.language)
    if n.channel == "terminal":
        return str((n.body or {}).get("text") or "")
    if n.purpose == "summary":
        return summary_text((n.body or {}).get("alarms", []), language=n.language)
    return sms_text(f, language=n.language, purpose=n.purpose)


@dataclass(slots=True)
class Claimed:
    outgoing: list[Outgoing] = field(default_factory=list)
    cancelled: int = 0
    held: int = 0
    moved: bool = False  # a failure here moved an escalation on: wake the engine

    @property
    def handled(self) -> int:
        return len(self.outgoing) + self.cancelled + self.held


async def claim(
    *,
    session: AsyncSession,
    now: datetime,
    limit: int,
    skip_locked: bool,
    throttle: Throttle | None = None,
    max_segments: int = 2,
) -> Claimed:
    """Take due rows for sending (status `sending`, committed by the caller first)."""
    query = (
        select(Notification, Alarm, Resident)
        .join(Alarm, Alarm.id == Notification.alarm_id)
        .outerjoin(Resident, Resident.id == Alarm.resident_id)
        .where(Notification.status == "pending", Notification.next_attempt_at <= now)
        .order_by(Notification.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(of=Notification, skip_locked=True)
    rows = list(await session.execute(query))
    phones = {n.phone for n, _, _ in rows if n.phone and n.channel in PHONE_CHANNELS}
    stopped = await opted_out(session=session, phones=phones)
    recent = await sent_in_window(session=session, phones=phones, now=now, throttle=throttle)
    claimed = Claimed()
    for n, alarm, resident in rows:
        if n.purpose == "step" and alarm.status != "open":
            # someone took the alarm after this was queued: do not call the others
            n.status = "cancelled"
            n.updated_at = now
            claimed.cancelled += 1
            continue
        if n.channel in PHONE_CHANNELS and n.phone:
            if n.phone in stopped:
                claimed.moved |= await mark_failed(
                    session=session, n=n, error="the recipient replied STOP", now=now
                )
                claimed.cancelled += 1
                continue
            held_back = (
                throttle is not None
                and n.purpose != "summary"
                and not throttle.may_send(recent.get(n.phone, 0))
            )
            if held_back:
                n.status = "held"  # goes out in a summary when the window allows
                n.updated_at = now
                claimed.held += 1
                continue
            recent[n.phone] = recent.get(n.phone, 0) + 1
        n.status = "sending"
        n.attempts += 1
        n.updated_at = now
        n.sent_at = n.sent_at or now
        claimed.outgoing.append(
            Outgoing(
                notification_id=n.id,
                alarm_id=n.alarm_id,
                purpose=n.purpose,
                channel=n.channel,
                recipient_key=n.recipient_key,
                recipient_name=n.recipient_name,
                phone=n.phone,
                language=n.language,
                text=fit_sms(render(n, alarm, resident), max_segments)
                if n.channel == "sms"
                else render(n, alarm, resident),
                body=n.body,
            )
        )
    return claimed


async def opted_out(*, session: AsyncSession, phones: set[str]) -> set[str]:
    if not phones:
        return set()
    found = await session.scalars(select(PhoneOptOut.phone).where(PhoneOptOut.phone.in_(phones)))
    return set(found)


async def sent_in_window(
    *, session: AsyncSession, phones: set[str], now: datetime, throttle: Throttle | None
) -> dict[str, int]:
    """SMS and calls handed to the provider per phone within the throttle's window."""
    if throttle is None or not phones:
        return {}
    rows = await session.execute(
        select(Notification.phone, func.count())
        .where(
            Notification.phone.in_(phones),
            Notification.channel.in_(PHONE_CHANNELS),
            Notification.sent_at >= now - timedelta(seconds=throttle.window_s),
        )
        .group_by(Notification.phone)
    )
    return {phone: int(n) for phone, n in rows if phone is not None}


def _log(n: Notification, now: datetime, kind: str, **data: Any) -> EventLog:
    return EventLog(
        at=now,
        kind=kind,
        alarm_id=n.alarm_id,
        actor="notifier",
        data={
            "notification_id": n.id,
            "channel": n.channel,
            "recipient": n.recipient_name,
            "recipient_key": n.recipient_key,
            **data,
        },
    )


async def mark_sent(
    *, session: AsyncSession, notification_id: int, provider_sid: str | None, now: datetime
) -> None:
    n = await session.get_one(Notification, notification_id, with_for_update=True)
    # a status callback can beat our own write of the SID: never undo what it recorded.
    # A compare-and-set, since SQLite reads outside the write transaction.
    await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == "sending")
        .values(status="sent" if n.channel in PHONE_CHANNELS else "delivered")
    )
    await session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(
            sent_at=func.coalesce(Notification.sent_at, now),
            updated_at=now,
            provider_sid=provider_sid,
            last_error=None,
        )
    )
    if n.channel != "dashboard":
        session.add(_log(n, now, "notification_sent", sid=provider_sid))


async def mark_retry(
    *, session: AsyncSession, notification_id: int, error: str, now: datetime, max_attempts: int
) -> bool:
    """Back to pending with a backoff; True when it has failed for good instead."""
    n = await session.get_one(Notification, notification_id, with_for_update=True)
    n.last_error = error[:1000]
    n.updated_at = now
    if n.attempts >= max_attempts:
        await mark_failed(
            session=session, n=n, error=f"gave up after {n.attempts} attempts: {error}", now=now
        )
        return True
    n.status = "pending"
    n.next_attempt_at = now + timedelta(seconds=backoff_s(n.attempts))
    return False


# a notification in one of these will never bring anyone to the door
DEAD = ("permanent_failure", "declined")


async def mark_failed(*, session: AsyncSession, n: Notification, error: str, now: datetime) -> bool:
    """Failed for good. True when that left the alarm's current step with nobody, so
    the escalation moves on at once instead of waiting out the step."""
    n.status = "permanent_failure"
    n.last_error = error[:1000]
    n.updated_at = now
    session.add(_log(n, now, "notification_failed", error=error[:300]))
    return await move_on_if_step_dead(
        session=session, n=n, now=now, why="nobody of this step reachable"
    )


async def move_on_if_step_dead(
    *, session: AsyncSession, n: Notification, now: datetime, why: str
) -> bool:
    if n.purpose != "step":
        return False
    alarm = await session.get_one(Alarm, n.alarm_id, with_for_update=True)
    if alarm.status != "open" or (alarm.step, alarm.round) != (n.step, n.round):
        return False
    await session.flush()
    alive = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.alarm_id == n.alarm_id,
            Notification.purpose == "step",
            Notification.step == n.step,
            Notification.round == n.round,
            Notification.status.not_in(DEAD),
        )
    )
    if alive or alarm.next_step_at is None or alarm.next_step_at <= now:
        return False
    alarm.next_step_at = now
    session.add(
        EventLog(
            at=now,
            kind="step_ended",
            alarm_id=alarm.id,
            device_id=alarm.device_id,
            actor="notifier",
            data={"step": n.step, "round": n.round, "detail": f"{why}; next step now"},
        )
    )
    return True


async def recover_interrupted(*, session: AsyncSession, now: datetime) -> int:
    """At start: rows left `sending` by a crash. Repeatable channels go again; an SMS or
    a call may have gone out, so it is failed (and the escalation moves on) instead."""
    stuck = list(
        await session.scalars(select(Notification).where(Notification.status == "sending"))
    )
    for n in stuck:
        if n.channel in PHONE_CHANNELS:
            await mark_failed(
                session=session, n=n, error="interrupted while sending; not repeated", now=now
            )
        else:
            n.status = "pending"
            n.updated_at = now
    return len(stuck)


async def next_due(*, session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(Notification.next_attempt_at)).where(Notification.status == "pending")
    )
