"""The engine's reads and writes: due alarms, the people of one alarm, and the decision
written back in the same transaction as its outbox rows."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import escalation as esc
from dispatcher.rules.notifications import Purpose
from dispatcher.rules.policy import EscalationPolicies
from dispatcher.rules.roster import Shift, parse_shift
from dispatcher.store import outbox
from dispatcher.store.event_log import alarm_entry, step_entry
from dispatcher.store.models import Alarm, Contact, EventLog, Provider, Resident, User, Worker

log = logging.getLogger("dispatcher.engine")


@dataclass(slots=True)
class PassResult:
    fired: int = 0  # alarms whose escalation moved
    queued: int = 0  # outbox rows written
    lags: list[float] = field(default_factory=list)  # seconds between due and fired


def _shifts(worker: Worker) -> tuple[Shift, ...]:
    parsed: list[Shift] = []
    for raw in worker.shifts or []:
        try:
            parsed.append(parse_shift(raw["days"], raw["start"], raw["end"]))
        except (KeyError, ValueError):
            # `dispatcher load` validates shifts; a bad one here must not stop escalation
            log.warning("worker %s has an unreadable shift %r; ignored", worker.id, raw)
    return tuple(parsed)


async def load_supervisors(*, session: AsyncSession) -> tuple[esc.Recipient, ...]:
    return tuple(
        esc.Recipient(f"supervisor:{u.username}", u.display_name or u.username, u.phone)
        for u in await session.scalars(
            select(User).where(User.role.in_(["supervisor", "admin"])).order_by(User.username)
        )
    )


async def load_directories(
    *,
    session: AsyncSession,
    alarms: list[Alarm],
    supervisors: tuple[esc.Recipient, ...],
) -> dict[int, esc.Directory]:
    """Everyone reachable for each alarm, by its id: its community's workers and
    providers (an outage has a community and no resident), its resident's contacts;
    `supervisors` the same for all. Four queries for a whole pass, not five an alarm:
    a mass event fires thousands of steps, mostly in a few communities."""
    resident_ids = {a.resident_id for a in alarms if a.resident_id is not None}
    residents = (
        {
            r.id: r
            for r in await session.scalars(select(Resident).where(Resident.id.in_(resident_ids)))
        }
        if resident_ids
        else {}
    )

    def community_of(alarm: Alarm) -> str | None:
        resident = residents.get(alarm.resident_id) if alarm.resident_id is not None else None
        return resident.community_id if resident is not None else alarm.community_id

    people = await _community_people(
        session=session,
        community_ids={c for c in map(community_of, alarms) if c is not None},
        resident_ids=set(residents),
    )
    return {
        a.id: _directory(
            people,
            community_id=community_of(a),
            supervisors=supervisors,
            resident=residents.get(a.resident_id) if a.resident_id is not None else None,
        )
        for a in alarms
    }


@dataclass(slots=True)
class _People:
    workers: dict[str, list[Worker]] = field(default_factory=dict)
    providers: dict[str, list[Provider]] = field(default_factory=dict)
    contacts: dict[str, list[Contact]] = field(default_factory=dict)


async def _community_people(
    *, session: AsyncSession, community_ids: set[str], resident_ids: set[str]
) -> _People:
    people = _People()
    if community_ids:
        for w in await session.scalars(
            select(Worker).where(Worker.community_id.in_(community_ids)).order_by(Worker.id)
        ):
            people.workers.setdefault(w.community_id, []).append(w)
        for p in await session.scalars(
            select(Provider).where(Provider.community_id.in_(community_ids)).order_by(Provider.id)
        ):
            people.providers.setdefault(p.community_id, []).append(p)
    if resident_ids:
        for c in await session.scalars(
            select(Contact)
            .where(Contact.resident_id.in_(resident_ids))
            .order_by(Contact.priority, Contact.id)
        ):
            people.contacts.setdefault(c.resident_id, []).append(c)
    return people


async def community_directory(
    *,
    session: AsyncSession,
    community_id: str | None,
    supervisors: tuple[esc.Recipient, ...],
    resident: Resident | None = None,
) -> esc.Directory:
    """A community's workers and providers, and the resident's contacts when given."""
    people = await _community_people(
        session=session,
        community_ids={community_id} if community_id is not None else set(),
        resident_ids={resident.id} if resident is not None else set(),
    )
    return _directory(people, community_id=community_id, supervisors=supervisors, resident=resident)


def _directory(
    people: _People,
    *,
    community_id: str | None,
    supervisors: tuple[esc.Recipient, ...],
    resident: Resident | None,
) -> esc.Directory:
    if community_id is None:
        return esc.Directory(supervisors=supervisors)
    contacts = (
        tuple(
            esc.RosterContact(
                esc.Recipient(f"contact:{c.id}", c.name, c.phone, c.language or resident.language),
                c.priority,
            )
            for c in people.contacts.get(resident.id, [])
        )
        if resident is not None
        else ()
    )
    return esc.Directory(
        workers=tuple(
            esc.RosterWorker(esc.Recipient(f"worker:{w.id}", w.name, w.phone), _shifts(w))
            for w in people.workers.get(community_id, [])
        ),
        contacts=contacts,
        providers=tuple(
            esc.RosterProvider(esc.Recipient(f"provider:{p.id}", p.name, p.phone), p.category)
            for p in people.providers.get(community_id, [])
        ),
        supervisors=supervisors,
        service_default=resident.service_default if resident is not None else None,
    )


def _log_rows(alarm: Alarm, decision: esc.Decision, now: datetime) -> list[EventLog]:
    return [step_entry(alarm, entry, at=now, actor="engine") for entry in decision.log]


async def run_due(
    *,
    session: AsyncSession,
    policies: EscalationPolicies,
    tz: ZoneInfo,
    now: datetime,
    limit: int,
    skip_locked: bool,
) -> PassResult:
    """One pass over the alarms whose next step is due. Idempotent: run it twice, or on
    two processes at once, and each step fires once."""
    query = (
        select(Alarm)
        .where(
            Alarm.status == "open",
            Alarm.next_step_at <= now,
            Alarm.escalation_exhausted == false(),
        )
        .order_by(Alarm.next_step_at, Alarm.id)
        .limit(limit)
    )
    if skip_locked:
        # several engines share the due alarms; each row goes to one of them. NO KEY
        # UPDATE, as everywhere an alarm is locked (ingest/transaction._open_alarms)
        query = query.with_for_update(skip_locked=True, key_share=True)
    result = PassResult()
    alarms = list(await session.scalars(query))
    supervisors = await load_supervisors(session=session) if alarms else ()
    queued: list[dict[str, Any]] = []
    logs: list[EventLog] = []
    # decide for every alarm first, write at the end: on SQLite the first write takes the
    # database's only write lock, and ingest waits for it until this pass commits
    with session.no_autoflush:
        directories = await load_directories(
            session=session, alarms=alarms, supervisors=supervisors
        )
        for alarm in alarms:
            directory = directories[alarm.id]
            policy = policies.for_kind(alarm.kind)
            due = alarm.next_step_at or now
            if not alarm.escalation_started:
                decision = esc.start(policy, directory, now, tz)
                alarm.escalation_started = True
            else:
                state = esc.EscalationState(
                    alarm.step, alarm.round, alarm.next_step_at, alarm.escalation_exhausted
                )
                decision = esc.advance(state, policy, directory, now, tz)
            alarm.step = decision.state.step
            alarm.round = decision.state.round
            alarm.next_step_at = decision.state.next_step_at
            alarm.escalation_exhausted = decision.state.exhausted
            # the supervisors' alert at the end of the chain has a step outside the policy
            queued.extend(
                outbox.notification_row(
                    n,
                    alarm_id=alarm.id,
                    purpose=Purpose.STEP if n.step >= 0 else Purpose.EXHAUSTED,
                    now=now,
                )
                for n in decision.notifications
            )
            logs.extend(_log_rows(alarm, decision, now))
            result.fired += 1
            result.lags.append((now - due).total_seconds())
    result.queued += await outbox.add(session, queued)
    session.add_all(logs)
    return result


async def run_ack_overdue(
    *, session: AsyncSession, now: datetime, timeout_s: int, limit: int, skip_locked: bool
) -> int:
    """Alert the supervisors of alarms taken but not resolved in time, once each."""
    query = (
        select(Alarm)
        .where(
            Alarm.status == "acknowledged",
            Alarm.kind.in_(esc.ACK_OVERDUE_KINDS),
            Alarm.ack_overdue_alerted_at.is_(None),
            Alarm.acknowledged_at <= esc.ack_overdue_cutoff(now, timeout_s),
        )
        .order_by(Alarm.acknowledged_at)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True, key_share=True)
    count = 0
    alarms = list(await session.scalars(query))
    if not alarms:
        return 0
    supervisors = await load_supervisors(session=session)
    directories = await load_directories(session=session, alarms=alarms, supervisors=supervisors)
    for alarm in alarms:
        alerts = esc.supervisors_alert(directories[alarm.id], step=esc.ACK_OVERDUE_STEP)
        rows = [
            outbox.notification_row(n, alarm_id=alarm.id, purpose=Purpose.ACK_OVERDUE, now=now)
            for n in alerts
        ]
        await outbox.add(session, rows)
        alarm.ack_overdue_alerted_at = now
        alerted = sorted({n.recipient.name for n in alerts})
        who = ", ".join(alerted) or "no supervisor"
        session.add(
            alarm_entry(
                "ack_overdue",
                alarm,
                at=now,
                actor="engine",
                data={
                    "detail": f"taken by {alarm.acknowledged_by} but not resolved after "
                    f"{timeout_s // 60} min; alerted: {who}",
                    "facts": {
                        "taken_by": alarm.acknowledged_by,
                        "minutes": timeout_s // 60,
                        "alerted": alerted,
                    },
                },
            )
        )
        count += 1
    return count


async def next_wake(*, session: AsyncSession, ack_timeout_s: int) -> datetime | None:
    """The earliest time anything becomes due: a step, or an overdue acknowledgement."""
    # min() keeps the column's type, so SQLite's values come back aware too
    step_due = await session.scalar(
        select(func.min(Alarm.next_step_at)).where(
            Alarm.status == "open", Alarm.escalation_exhausted == false()
        )
    )
    acked = await session.scalar(
        select(func.min(Alarm.acknowledged_at)).where(
            Alarm.status == "acknowledged",
            Alarm.kind.in_(esc.ACK_OVERDUE_KINDS),
            Alarm.ack_overdue_alerted_at.is_(None),
        )
    )
    candidates = [
        step_due,
        esc.ack_overdue_at(acked, ack_timeout_s) if acked is not None else None,
    ]
    found = [c for c in candidates if c is not None]
    return min(found) if found else None
