"""What people do to an alarm (take it, close it, add a note, say they are at the door),
from the dashboard or a phone: the rules decide, this writes the change, its timeline
line, the terminal's command and what relatives are told, in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devices.events import CommandType
from dispatcher.actions.tell_contacts import tell_closed, tell_contacts, who_took
from dispatcher.rules import alarms as rules
from dispatcher.rules.notifications import Purpose
from dispatcher.store import outbox, request_closed
from dispatcher.store.alarms import close_alarm, get_alarm, member_left
from dispatcher.store.event_log import alarm_entry
from dispatcher.store.models import Alarm, OutageMember


async def locked(session: AsyncSession, alarm_id: int) -> Alarm:
    """The alarm, locked for the change (404 when there is none)."""
    alarm = await get_alarm(session=session, alarm_id=alarm_id, for_update=True)
    if alarm is None:
        raise rules.TransitionError(404, f"no alarm {alarm_id}", reason="not_found")
    return alarm


async def acknowledge(
    *,
    session: AsyncSession,
    alarm_id: int,
    by: str,
    now: datetime,
    via: str = "dashboard",
    recipient_key: str | None = None,
    tell: bool = True,
) -> Alarm:
    """`by` takes responsibility: the escalation stops, the terminal hears help is
    coming, and (`tell`) the relatives of an emergency who were told hear who took it."""
    alarm = await locked(session, alarm_id)
    change = rules.acknowledge(rules.Status(alarm.status), alarm.acknowledged_by, by=by, now=now)
    if not change.changed:
        return alarm
    alarm.status = rules.Status.ACKNOWLEDGED.value
    alarm.acknowledged_at = change.acknowledged_at
    alarm.acknowledged_by = change.acknowledged_by
    alarm.next_step_at = None
    detail: dict[str, Any] = {"via": via, "step": alarm.step, "round": alarm.round}
    if recipient_key is not None:
        detail["recipient_key"] = recipient_key
    session.add(alarm_entry("ack", alarm, at=now, actor=by, data=detail))
    await _command(session, alarm, CommandType.HELP_COMING, now)
    if tell:
        await tell_contacts(
            session=session,
            alarm=alarm,
            purpose=Purpose.TOLD_TAKEN,
            body={"who": by, "role": who_took(via, recipient_key)},
            now=now,
            skip_key=recipient_key,
        )
    return alarm


async def resolve(
    *,
    session: AsyncSession,
    alarm_id: int,
    by: str,
    outcome: str,
    note: str | None,
    now: datetime,
    tell: bool = True,
) -> Alarm:
    alarm = await locked(session, alarm_id)
    chosen = rules.check_resolve(rules.Status(alarm.status), outcome)
    session.add(close_alarm(alarm, outcome=chosen, by=by, now=now, note=note))
    await _release_members(session, alarm, now)
    await closed(session=session, alarm=alarm, now=now, tell=tell)
    return alarm


async def _release_members(session: AsyncSession, alarm: Alarm, now: datetime) -> None:
    """An outage closed by hand holds its terminals no more: any still down raises its
    own alarm at the engine's next pass (each is a resident who cannot call for help)."""
    members = await session.scalars(
        select(OutageMember).where(
            OutageMember.alarm_id == alarm.id, OutageMember.left_at.is_(None)
        )
    )
    for member in members:
        session.add(member_left(member, now=now, released=True))


async def closed(
    *,
    session: AsyncSession,
    alarm: Alarm,
    now: datetime,
    tell: bool,
    closed_by: str | None = None,
) -> None:
    """After any close: the terminal hears it; a service request's SMS to providers not
    sent yet are cancelled, and the providers who have one hear it is closed (not
    `closed_by`, the recipient key of a provider who closed it); and (`tell`) the
    relatives of an emergency who were told hear how it ended."""
    await _command(session, alarm, CommandType.ALARM_CLOSED, now)
    await request_closed.at_close(session=session, alarm=alarm, now=now, closed_by=closed_by)
    if tell:
        await tell_closed(session=session, alarm=alarm, now=now)


async def arrived(
    *,
    session: AsyncSession,
    alarm_id: int,
    by: str,
    via: str,
    now: datetime,
    who: str | None = None,
) -> Alarm:
    """Someone is at the door: the first arrival is the alarm's `arrived_at` (attendance
    time); every one is a timeline line. `by` tells it (the person at the door by SMS or
    link; an operator on the dashboard, who is not at the door: then `who` names the
    person, or nobody is named)."""
    alarm = await locked(session, alarm_id)
    arrival = rules.arrive(rules.Status(alarm.status), alarm.arrived_at)
    at_door = who if via == "dashboard" else by
    if arrival.first:
        alarm.arrived_at = now
        alarm.arrived_by = at_door
    session.add(
        alarm_entry(
            "arrived",
            alarm,
            at=now,
            actor=by,
            data={"via": via, "first": arrival.first}
            | ({"who": at_door} if via == "dashboard" and at_door else {}),
        )
    )
    return alarm


async def add_note(
    *, session: AsyncSession, alarm_id: int, by: str, note: str, now: datetime
) -> Alarm:
    alarm = await locked(session, alarm_id)
    session.add(alarm_entry("note", alarm, at=now, actor=by, data={"note": note}))
    return alarm


async def _command(
    session: AsyncSession, alarm: Alarm, command: CommandType, now: datetime
) -> None:
    """The terminal's words are filled in when it is sent, in its resident's language."""
    if alarm.device_id is None:
        return
    await outbox.add(
        session,
        [
            outbox.command_row(
                alarm_id=alarm.id, device_id=alarm.device_id, command=command, now=now
            )
        ],
    )
