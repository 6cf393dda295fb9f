"""The notifier's reads and writes on the outbox; `dispatcher.rules.notifications`
decides, this stores.

A row is claimed (status `sending`, signed with the claiming process and the time) and
committed before anything is sent, so at most one attempt is ever in flight, and a stop
mid-send is found at that process's next start (or by any process, once stale).

Locks: a transaction that locks an alarm and notifications takes the alarm first, then
its notifications, as the operators' actions and the engine do (they lock the alarm,
then queue rows); `locked` gives a notification that way. So two writers of one alarm
wait for each other, never deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, TextClause, bindparam, case, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.rules import escalation as esc
from dispatcher.rules import notifications as rules
from dispatcher.rules.messages import AlarmFacts
from dispatcher.rules.notifications import PHONE_CHANNELS, Purpose, Status
from dispatcher.rules.policy import AlarmKind
from dispatcher.rules.throttle import Throttle
from dispatcher.store import request_closed, responder_links
from dispatcher.store.db import is_sqlite, take_write_lock
from dispatcher.store.event_log import notification_entry, step_entry
from dispatcher.store.models import (
    NOTIFICATION_PENDING_SQL,
    Alarm,
    Community,
    EventLog,
    Notification,
    OutageMember,
    PhoneOptOut,
    Provider,
    Resident,
)


@dataclass(frozen=True, slots=True)
class ToSend:
    """A claimed row with what its message is made of; the notifier words and sends it."""

    notification_id: int
    alarm_id: int | None
    purpose: Purpose
    channel: str
    recipient_key: str
    recipient_name: str
    phone: str | None
    language: str
    body: dict[str, Any] | None
    facts: AlarmFacts | None  # None for a message about no single alarm
    resident_language: str  # the terminal's words are in it
    failover: str | None = None  # "aliyun>twilio" once it failed over (rules.routes)
    link: str | None = None  # the responder link's token, for an SMS that asks to act


def alarm_facts(
    alarm: Alarm,
    resident: Resident | None,
    *,
    community: str | None = None,
    members: int | None = None,
    service: str | None = None,
) -> AlarmFacts:
    """What a message says of an alarm; its id is the code a reply names it by. An
    outage is named by its `community` and how many `members` it holds; a service
    request says what is asked (`service`: a category; default: the resident's)."""
    if resident is not None:
        name, address = resident.name, resident.address
    else:
        name, address = community or alarm.device_id or alarm.community_id or "?", ""
    return AlarmFacts(
        alarm_id=alarm.id,
        kind=AlarmKind(alarm.kind),
        type=alarm.type,
        resident_name=name,
        address=address,
        short_code=str(alarm.id),
        resident_phone=(resident.phone or "") if resident is not None else "",
        service=service or (resident.service_default or "" if resident is not None else ""),
        members=members,
    )


async def facts_of(session: AsyncSession, alarm: Alarm, resident: Resident | None) -> AlarmFacts:
    """`alarm_facts` with what only some alarms need read: an outage's community and
    members, the category of the provider a service request was sent to."""
    if alarm.type == "outage":
        community = await session.get(Community, alarm.community_id) if alarm.community_id else None
        members = await session.scalar(
            select(func.count())
            .select_from(OutageMember)
            .where(OutageMember.alarm_id == alarm.id, OutageMember.left_at.is_(None))
        )
        return alarm_facts(
            alarm, resident, community=community.name if community else None, members=members
        )
    if alarm.provider_id is not None:
        provider = await session.get(Provider, alarm.provider_id)
        return alarm_facts(alarm, resident, service=provider.category if provider else None)
    return alarm_facts(alarm, resident)


def to_send(
    n: Notification, alarm: Alarm | None, resident: Resident | None, facts: AlarmFacts | None
) -> ToSend:
    return ToSend(
        notification_id=n.id,
        alarm_id=n.alarm_id,
        purpose=Purpose(n.purpose),
        channel=n.channel,
        recipient_key=n.recipient_key,
        recipient_name=n.recipient_name,
        phone=n.phone,
        language=n.language,
        body=n.body,
        facts=facts if alarm is not None else None,
        resident_language=resident.language if resident else "zh-CN",
        failover=n.failover,
    )


@dataclass(slots=True)
class Claimed:
    outgoing: list[ToSend] = field(default_factory=list)
    # (notification id, why): claimed, to be failed by the caller after the commit (that
    # needs the alarm's lock, which comes before the notification's)
    refused: list[tuple[int, str]] = field(default_factory=list)
    cancelled: int = 0
    held: int = 0

    @property
    def handled(self) -> int:
        return len(self.outgoing) + len(self.refused) + self.cancelled + self.held


def pending() -> TextClause:
    """The claim's condition as its partial index says it (a bound status would hide
    the index from the planner), named for the join with alarms, which have a status
    too."""
    return text(f"notifications.{NOTIFICATION_PENDING_SQL}")


async def claim(
    *,
    session: AsyncSession,
    now: datetime,
    limit: int,
    skip_locked: bool,
    owner: str,
    throttle: Throttle | None = None,
) -> Claimed:
    """Take due rows for sending (status `sending`, signed by `owner`, committed by the
    caller first). Only notification rows are locked here (and skipped when another
    process has them)."""
    # the messages first, their alarms and residents after: joined before the limit,
    # a planner that expected few pending rows (statistics of a quieter hour) joined
    # every one of a burst's 30,000 to take 50 (0.5 s a claim; bench/README.md)
    due = (
        select(Notification.id)
        .where(pending(), Notification.next_attempt_at <= now)
        .order_by(Notification.id)
        .limit(limit)
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    query = (
        select(Notification, Alarm, Resident)
        .outerjoin(Alarm, Alarm.id == Notification.alarm_id)
        .outerjoin(Resident, Resident.id == Alarm.resident_id)
        .where(Notification.id.in_(due.scalar_subquery()))
        .order_by(Notification.id)
    )
    if skip_locked:
        # locked by the subquery already (no wait): read as locked, not as the
        # statement's snapshot had them
        query = query.with_for_update(of=Notification)
    rows = list(await session.execute(query))
    if rows and is_sqlite(session):
        # SQLite has no row locks: what the gate decides on (the alarm closed or not, the
        # row still pending) stays true only inside the one writer's lock. So the lock
        # first, then the rows again: a close that committed meanwhile is seen, and one
        # that comes later waits for this claim (request_closed)
        await take_write_lock(session)
        rows = list(await session.execute(query.execution_options(populate_existing=True)))
    phones = {n.phone for n, _, _ in rows if n.phone and n.channel in PHONE_CHANNELS}
    decisions = rules.gate(
        [
            rules.Due(
                n.id,
                Purpose(n.purpose),
                n.channel,
                n.phone,
                alarm_open=alarm is not None and alarm.status == "open",
                alarm_resolved=alarm is not None and alarm.status == "resolved",
            )
            for n, alarm, _ in rows
        ],
        opted_out=await opted_out(session=session, phones=phones),
        sent_in_window=await sent_in_window(
            session=session, phones=phones, now=now, throttle=throttle
        ),
        throttle=throttle,
    )
    claimed = Claimed()
    for (n, alarm, resident), decision in zip(rows, decisions, strict=True):
        match decision:
            case rules.Cancel():
                n.status = Status.CANCELLED
                n.updated_at = now
                claimed.cancelled += 1
            case rules.Fail(reason=reason):
                n.status = Status.SENDING
                n.claimed_by, n.claimed_at = owner, now
                claimed.refused.append((n.id, reason))
            case rules.Hold():
                n.status = Status.HELD  # goes out in a summary when the window allows
                n.updated_at = now
                claimed.held += 1
            case rules.Send():
                n.status = Status.SENDING
                n.claimed_by, n.claimed_at = owner, now
                n.attempts += 1
                n.updated_at = now
                n.sent_at = n.sent_at or now
                facts = await facts_of(session, alarm, resident) if alarm is not None else None
                row = to_send(n, alarm, resident, facts)
                if alarm is not None and rules.asks_to_act(row.purpose, n.channel, n.recipient_key):
                    token = responder_links.add(session=session, n=n, alarm_id=alarm.id, now=now)
                    row = replace(row, link=token)
                claimed.outgoing.append(row)
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


def _entry(n: Notification, now: datetime, kind: str, actor: str, **data: Any) -> EventLog:
    return notification_entry(
        kind, n, at=now, actor=actor, data={"recipient_key": n.recipient_key, **data}
    )


async def locked(*, session: AsyncSession, notification_id: int) -> Notification | None:
    """The notification, locked for a change, after its alarm (the one lock order); a
    message about no alarm (a morning list) has only itself to lock."""
    found = (
        await session.execute(
            select(Notification.id, Notification.alarm_id).where(Notification.id == notification_id)
        )
    ).first()
    if found is None:
        return None
    await take_write_lock(session)  # SQLite: what is read next stays true until commit
    if found.alarm_id is not None:
        # NO KEY UPDATE (see get_alarm): the handover's foreign-key check passes it
        await session.execute(
            select(Alarm.id).where(Alarm.id == found.alarm_id).with_for_update(key_share=True)
        )
    return await session.get(
        Notification, notification_id, with_for_update=True, populate_existing=True
    )


@dataclass(frozen=True, slots=True)
class Handed:
    """A message the provider took: its notification and the provider's id for it."""

    notification_id: int
    provider_sid: str | None


async def mark_sent(*, session: AsyncSession, handed: list[Handed], now: datetime) -> None:
    """Record what the provider took, all in one transaction: under a mass event the
    notifier hands over hundreds a second, and a transaction each was a third of its
    work. Locks only these notifications, in id order (the same order in every process),
    never an alarm: nothing that holds a notification's lock waits for this. (A request
    to a provider whose alarm closed meanwhile queues its provider's message: an insert
    whose foreign key takes only a key-share lock on the closed alarm, which its
    closers' NO KEY UPDATE lock does not exclude.)"""
    if not handed:
        return
    sids = {h.notification_id: h.provider_sid for h in handed}
    rows = list(
        await session.scalars(
            select(Notification)
            .where(Notification.id.in_(sids))
            .order_by(Notification.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    # a status callback can beat our own write of the SID: never undo what it recorded
    # (a compare-and-set in SQL: SQLite reads outside the write transaction). One UPDATE
    # a row: a second one of a row this transaction wrote would check its alarm's key
    # again (PostgreSQL's foreign-key trigger does, for rows of its own transaction),
    # and wait for whoever holds the alarm FOR UPDATE: a deadlock seen under load
    table = cast(Table, Notification.__table__)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            status=case(
                (table.c.status == Status.SENDING, bindparam("b_status")),
                else_=table.c.status,
            ),
            sent_at=func.coalesce(table.c.sent_at, now),
            updated_at=now,
            provider_sid=bindparam("b_sid"),
            last_error=None,
            doubted_at=None,
        ),
        [
            {"b_id": n.id, "b_sid": sids[n.id], "b_status": rules.after_handover(n.channel)}
            for n in rows
        ],
    )
    session.add_all(
        _entry(n, now, "notification_sent", "notifier", sid=sids[n.id])
        for n in rows
        if n.channel != "dashboard"
    )
    # a provider's request whose request closed while it was being sent: they hear so.
    # Read after the writes above, inside this transaction's locks on the rows (and on
    # SQLite its write lock): a close either committed before or finds them handed over
    await request_closed.at_handover(session=session, handed=rows, now=now)


def confirm_sent(*, session: AsyncSession, n: Notification, now: datetime, actor: str) -> None:
    """A send in doubt (no answer in time) that its provider's report shows went: sent,
    as `mark_sent` leaves a row (a status the report wrote since is kept), and a line of
    the timeline that says it was confirmed. Whichever came first, the timeout or the
    report, the second to come calls this."""
    if n.status in (Status.SENDING, Status.PENDING):
        n.status = rules.after_handover(n.channel)
    n.sent_at = n.sent_at or now
    n.doubted_at = None
    n.last_error = None
    n.updated_at = now
    session.add(_entry(n, now, "notification_sent", actor, sid=n.provider_sid, confirmed=True))


async def mark_retry(
    *,
    session: AsyncSession,
    notification_id: int,
    error: str,
    now: datetime,
    max_attempts: int,
    in_doubt_s: float | None = None,
) -> bool:
    """Back to pending with a backoff; True when it has failed for good instead. With
    `in_doubt_s` the send's outcome is unknown: it waits that long for the provider's
    report (which marks it sent: `phones.replies.record_status`) before it goes again."""
    n = await locked(session=session, notification_id=notification_id)
    if n is None:
        return False
    if in_doubt_s is not None and (n.status != Status.SENDING or n.provider_sid):
        # the provider's report came before this (a slow answer, a quick report): it went
        confirm_sent(session=session, n=n, now=now, actor="notifier")
        return False
    n.last_error = error[:1000]
    n.updated_at = now
    again = rules.retry_at(n.attempts, max_attempts, now, in_doubt_s=in_doubt_s)
    if again is None:
        await mark_failed(
            session=session, n=n, error=f"gave up after {n.attempts} attempts: {error}", now=now
        )
        return True
    n.status = Status.PENDING
    n.next_attempt_at = again
    if in_doubt_s is not None:
        n.doubted_at = now
        session.add(_entry(n, now, "notification_in_doubt", "notifier", error=error[:300]))
    return False


async def fail(*, session: AsyncSession, notification_id: int, error: str, now: datetime) -> bool:
    """`mark_failed`, locking first (the alarm, then the notification)."""
    n = await locked(session=session, notification_id=notification_id)
    if n is None:
        return False
    return await mark_failed(session=session, n=n, error=error, now=now)


async def mark_failed(
    *,
    session: AsyncSession,
    n: Notification,
    error: str,
    now: datetime,
    actor: str = "notifier",
) -> bool:
    """Failed for good. True when that left the alarm's current step with nobody, so
    the escalation moves on at once instead of waiting out the step. The caller holds
    the alarm's lock, taken before the notification's (`locked`)."""
    n.status = Status.PERMANENT_FAILURE
    n.last_error = error[:1000]
    n.updated_at = now
    session.add(_entry(n, now, "notification_failed", actor, error=error[:300]))
    return await move_on_if_step_dead(
        session=session, n=n, now=now, why="nobody of this step reachable"
    )


async def move_on_if_step_dead(
    *, session: AsyncSession, n: Notification, now: datetime, why: str
) -> bool:
    """When nobody of the alarm's current step is left (failed, declined), its wait is
    cut short: the next step is due now. True when it moved."""
    if n.purpose != Purpose.STEP:
        return False
    await take_write_lock(session)
    alarm = await session.get_one(Alarm, n.alarm_id, with_for_update={"key_share": True})
    await session.flush()
    statuses = await session.scalars(
        select(Notification.status).where(
            Notification.alarm_id == n.alarm_id,
            Notification.purpose == Purpose.STEP,
            Notification.step == n.step,
            Notification.round == n.round,
        )
    )
    ended = rules.step_ended(
        purpose=Purpose.STEP,
        alarm_open=alarm.status == "open",
        alarm_position=(alarm.step, alarm.round),
        position=(n.step, n.round),
        statuses=[Status(s) for s in statuses],
    )
    if not ended:
        return False
    state = esc.EscalationState(
        alarm.step, alarm.round, alarm.next_step_at, alarm.escalation_exhausted
    )
    hurried = esc.skip_wait(state, now)
    if hurried == state:
        return False
    alarm.next_step_at = hurried.next_step_at
    session.add(
        step_entry(
            alarm,
            esc.Logged("step_ended", n.step, n.round, f"{why}; next step now", {"next_now": True}),
            at=now,
            actor="notifier",
        )
    )
    return True


async def interrupted(
    *, session: AsyncSession, now: datetime, owner: str, stale_after_s: float, starting: bool
) -> list[tuple[int, datetime | None]]:
    """Rows left `sending` by a stop mid-send (`rules.interrupted`): at `owner`'s start its
    own, and at any time anyone's stale ones; (id, claimed_at) for `recover`."""
    found = await session.execute(
        select(Notification.id, Notification.claimed_by, Notification.claimed_at).where(
            Notification.status == Status.SENDING
        )
    )
    return [
        (notification_id, claimed_at)
        for notification_id, claimed_by, claimed_at in found
        if rules.interrupted(
            claimed_by,
            claimed_at,
            me=owner,
            now=now,
            stale_after_s=stale_after_s,
            starting=starting,
        )
    ]


async def recover(
    *, session: AsyncSession, notification_id: int, claimed_at: datetime | None, now: datetime
) -> bool:
    """One interrupted row, failed or sent again by its channel (`rules.after_interruption`);
    False when its send ended meanwhile or it was claimed again. One a transaction: each
    locks its alarm, then itself, and a transaction holding one alarm while it waits for
    the next would deadlock with anyone taking the two the other way round."""
    n = await locked(session=session, notification_id=notification_id)
    if n is None or n.status != Status.SENDING or n.claimed_at != claimed_at:
        return False
    if rules.after_interruption(n.channel) is Status.PERMANENT_FAILURE:
        await mark_failed(
            session=session, n=n, error="interrupted while sending; not repeated", now=now
        )
    else:
        n.status = Status.PENDING
        n.updated_at = now
    return True


async def recover_interrupted(
    *,
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    owner: str,
    stale_after_s: float,
    starting: bool,
) -> int:
    """Every interrupted row (`interrupted`), each recovered in a transaction of its own
    (`recover`); how many were."""
    async with sessions() as session:
        found = await interrupted(
            session=session, now=now, owner=owner, stale_after_s=stale_after_s, starting=starting
        )
    recovered = 0
    for notification_id, claimed_at in found:
        async with sessions.begin() as session:
            recovered += await recover(
                session=session, notification_id=notification_id, claimed_at=claimed_at, now=now
            )
    return recovered


async def next_due(*, session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(Notification.next_attempt_at)).where(Notification.status == Status.PENDING)
    )
