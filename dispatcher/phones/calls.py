"""Operators' calls (docs/api.md): whom a click names and their phone, the call's row
and its timeline lines; the provider's reports applied by `dispatcher.rules.calls`.

A provider (Twilio today, Alibaba Cloud's click-to-dial later) only has to turn its
reports into `LegReport`s and hand them to `record_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import calls as rules
from dispatcher.store.event_log import log_entry
from dispatcher.store.models import Alarm, Call, Contact, EventLog, Provider, Resident, User, Worker


class CallRefusedError(Exception):
    """A call that cannot be placed: the HTTP status and the catalog entry saying why."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


@dataclass(frozen=True, slots=True)
class Party:
    target: str
    name: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class ReportResult:
    alarm_id: int | None
    changed: bool


async def _party(session: AsyncSession, alarm: Alarm, target: str) -> Party:
    """The person `target` names for this alarm: its resident, one of the resident's
    contacts by priority, or a worker or provider of its community."""
    kind, _, key = target.partition(":")
    found: Resident | Contact | Worker | Provider | None = None
    if kind == "resident" and alarm.resident_id is not None:
        found = await session.get(Resident, alarm.resident_id)
    elif kind == "contact" and alarm.resident_id is not None and key.isdigit():
        found = await session.scalar(
            select(Contact).where(
                Contact.resident_id == alarm.resident_id, Contact.priority == int(key)
            )
        )
    elif kind == "worker":
        found = await session.get(Worker, key)
    elif kind == "provider":
        found = await session.get(Provider, key)
    if isinstance(found, Worker | Provider) and found.community_id != alarm.community_id:
        found = None  # only the people of the alarm's own community
    if found is None:
        raise CallRefusedError(404, "call.no_such_party", target=target)
    return Party(target, found.name, found.phone)


async def open_call(
    *,
    session: AsyncSession,
    alarm_id: int,
    operator: str,
    target: str,
    language: str,
    provider: str,
    now: datetime,
) -> Call:
    """Write the call and its first timeline line, before the provider is asked: its
    reports name the call, and may come before it answers."""
    alarm = await session.get(Alarm, alarm_id)
    if alarm is None:
        raise CallRefusedError(404, "call.no_alarm", id=alarm_id)
    user = await session.scalar(select(User).where(User.username == operator))
    if user is None or not user.phone:
        raise CallRefusedError(409, "call.no_operator_phone", user=operator)
    party = await _party(session, alarm, target)
    if not party.phone:
        raise CallRefusedError(409, "call.no_party_phone", name=party.name)
    call = Call(
        alarm_id=alarm.id,
        operator=operator,
        operator_phone=user.phone,
        target=target,
        target_name=party.name,
        target_phone=party.phone,
        language=language,
        provider=provider,
        status=rules.CallStatus.PLACING.value,
        created_at=now,
    )
    session.add(call)
    await session.flush()
    session.add(_line(call, "call_placed", now, actor=operator, data={"provider": provider}))
    return call


async def placed(*, session: AsyncSession, call_id: int, sid: str | None) -> None:
    """The provider took the call (its id, if it gives one)."""
    call = await _locked(session, call_id)
    if call is not None:
        _store(call, rules.placed(_state(call), sid))


async def failed(*, session: AsyncSession, call_id: int, error: str, now: datetime) -> None:
    """The provider refused the call, or could not be reached: said in the timeline."""
    call = await _locked(session, call_id)
    if call is None or call.status in rules.FINAL:
        return
    call.status = rules.CallStatus.FAILED.value
    call.error = error[:1000]
    call.ended_at = now
    session.add(_line(call, "call_failed", now, actor=None, data={"error": call.error}))


async def record_report(
    *, session: AsyncSession, call_id: int, report: rules.LegReport, now: datetime
) -> ReportResult:
    """Apply one of the provider's reports; a replay or a stranger's changes nothing."""
    call = await _locked(session, call_id)
    if call is None:
        return ReportResult(None, changed=False)
    before = _state(call)
    after, lines = rules.report(before, report)
    if after == before:
        return ReportResult(call.alarm_id, changed=False)
    if after.operator_answered and call.operator_answered_at is None:
        call.operator_answered_at = now
    if after.party_answered and call.party_answered_at is None:
        call.party_answered_at = now
    if after.status in rules.FINAL and call.ended_at is None:
        call.ended_at = now
    _store(call, after)
    for line in lines:
        session.add(_line(call, line.kind, now, actor=None, data=line.data))
    return ReportResult(call.alarm_id, changed=True)


async def get(*, session: AsyncSession, call_id: int) -> Call | None:
    return await session.get(Call, call_id)


def call_json(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "alarm_id": call.alarm_id,
        "to": call.target,
        "name": call.target_name,
        "phone": call.target_phone,
        "operator_phone": call.operator_phone,
        "provider": call.provider,
        "status": call.status,
        "created_at": call.created_at.isoformat(),
    }


async def _locked(session: AsyncSession, call_id: int) -> Call | None:
    # one report at a time per call: two at once must not both see "not answered yet"
    return await session.scalar(select(Call).where(Call.id == call_id).with_for_update())


def _state(call: Call) -> rules.CallState:
    return rules.CallState(
        status=rules.CallStatus(call.status),
        operator_sid=call.operator_sid,
        party_sid=call.party_sid,
        operator_answered=call.operator_answered_at is not None,
        party_answered=call.party_answered_at is not None,
        outcome=call.outcome,
        duration_s=call.duration_s,
    )


def _store(call: Call, state: rules.CallState) -> None:
    call.status = state.status.value
    call.operator_sid = state.operator_sid
    call.party_sid = state.party_sid
    call.outcome = state.outcome
    call.duration_s = state.duration_s


def _line(
    call: Call, kind: str, now: datetime, *, actor: str | None, data: dict[str, Any]
) -> EventLog:
    return log_entry(
        kind,
        at=now,
        actor=actor,
        alarm_id=call.alarm_id,
        data={
            "call": call.id,
            "to": call.target,
            "name": call.target_name,
            "operator": call.operator,
            **data,
        },
    )
