"""What people do to an alarm (take it, close it, add a note), from the dashboard or a
phone: the rules decide, this writes the change, its timeline line and the terminal's
command in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devices.events import CommandType
from dispatcher.rules import alarms as rules
from dispatcher.store import outbox
from dispatcher.store.alarms import close_alarm, get_alarm
from dispatcher.store.event_log import log_entry
from dispatcher.store.models import Alarm


async def _locked(session: AsyncSession, alarm_id: int) -> Alarm:
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
) -> Alarm:
    """`by` takes responsibility: the escalation stops and the terminal hears help is coming."""
    alarm = await _locked(session, alarm_id)
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
    session.add(
        log_entry(
            "ack", at=now, actor=by, alarm_id=alarm.id, device_id=alarm.device_id, data=detail
        )
    )
    await _command(session, alarm, CommandType.HELP_COMING, now)
    return alarm


async def resolve(
    *, session: AsyncSession, alarm_id: int, by: str, outcome: str, note: str | None, now: datetime
) -> Alarm:
    alarm = await _locked(session, alarm_id)
    chosen = rules.check_resolve(rules.Status(alarm.status), outcome)
    session.add(close_alarm(alarm, outcome=chosen, by=by, now=now, note=note))
    await _command(session, alarm, CommandType.ALARM_CLOSED, now)
    return alarm


async def add_note(
    *, session: AsyncSession, alarm_id: int, by: str, note: str, now: datetime
) -> Alarm:
    alarm = await _locked(session, alarm_id)
    session.add(
        log_entry(
            "note",
            at=now,
            actor=by,
            alarm_id=alarm.id,
            device_id=alarm.device_id,
            data={"note": note},
        )
    )
    return alarm


async def _command(
    session: AsyncSession, alarm: Alarm, command: CommandType, now: datetime
) -> None:
    """The terminal's words are filled in when it is sent, in its resident's language."""
    if alarm.device_id is None:
        return
    await outbox.queue(
        session,
        [
            outbox.command_row(
                alarm_id=alarm.id, device_id=alarm.device_id, command=command, now=now
            )
        ],
    )
