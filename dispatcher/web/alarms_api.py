"""Alarms over HTTP: the list and one alarm (docs/api.md), the history and its CSV export
(§7), the queue and the alarm view the dashboard reads, and what people do to an alarm
(take, resolve, note, someone at the door, a service request sent to a provider and how
far it is; §7)."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.actions import alarms as actions
from dispatcher.actions import service as service_requests
from dispatcher.rules import alarms as rules
from dispatcher.rules.reports import day_start
from dispatcher.store import alarms as store
from dispatcher.store.audit import AuditAction
from dispatcher.store.changes import Changes
from dispatcher.store.models import Alarm
from dispatcher.views import alarm as alarm_view
from dispatcher.views import history
from dispatcher.views import operators_queue as queue_store
from dispatcher.web import audit_api
from dispatcher.web.auth import principal, sessions_of
from dispatcher.web.errors import json_error, problems
from dispatcher.web.operations import Reply, given
from dispatcher.web.schemas.alarms import (
    AlarmFilters,
    AlarmsQuery,
    Dispatch,
    Note,
    Resolve,
    ServiceUpdate,
    StatusFilter,
)
from dispatcher.web.schemas.alarms import Arrived as ArrivedBody
from dispatcher.web.schemas.base import AlarmPath
from dispatcher.web.state import DEPS, liveness_of

_MAX_LIMIT = 1000

# (session, alarm_id, by, now) -> the changed alarm
Action = Callable[[AsyncSession, int, str, datetime], Awaitable[Alarm]]


def _filter(query: AlarmFilters, tz: ZoneInfo) -> history.AlarmFilter:
    """The query's local dates as UTC bounds: [start of `from`, start of the day after `to`)."""
    return history.AlarmFilter(
        status=None if query.status in (None, StatusFilter.ALL) else rules.Status(query.status),
        newest_first=query.newest_first,
        start=day_start(query.from_, tz) if query.from_ else None,
        end=day_start(query.to + timedelta(days=1), tz) if query.to else None,
        community=query.community,
        kind=query.kind.value if query.kind else None,
        q=query.q,
    )


async def list_alarms(request: web.Request) -> list[dict[str, Any]]:
    query = given(request, AlarmsQuery)
    deps = request.app[DEPS]
    limit = max(1, min(query.limit, _MAX_LIMIT))
    async with sessions_of(request)() as session:
        found = await history.find(
            session=session,
            f=_filter(query, deps.settings.city.tz),
            limit=limit,
            before=query.before,
        )
    return [history.line(*row) for row in found]


async def alarms_csv(request: web.Request) -> web.StreamResponse:
    """Every alarm of the filters, newest first, streamed page by page. UTF-8 with a BOM,
    so that Excel, what a city's office opens it with, reads the Chinese right."""
    query = given(request, AlarmFilters)
    deps = request.app[DEPS]
    # worked out before anything is written (the audit line, the headers), so that a
    # filter that cannot be answered fails as a whole
    found = _filter(query, deps.settings.city.tz)
    tz = deps.settings.city.tz
    filters = query.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    async with sessions_of(request).begin() as session:
        session.add(audit_api.line(request, AuditAction.EXPORT_ALARMS, detail=filters))
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="alarms.csv"',
        }
    )
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(history.CSV_COLUMNS)
    async with sessions_of(request)() as session:
        async for page in history.every(session=session, f=found):
            writer.writerows(history.csv_row(*row, tz) for row in page)
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


async def get_alarm(request: web.Request) -> Reply:
    alarm_id = given(request, AlarmPath).alarm_id
    async with sessions_of(request)() as session:
        alarm = await store.get_alarm(session=session, alarm_id=alarm_id)
        if alarm is None:
            return json_error(404, f"no alarm {alarm_id}")
        rows = await store.timeline(session=session, alarm_id=alarm_id)
        held = await store.member_ids(session=session, alarm_id=alarm_id)
    body = store.alarm_json(alarm, len(held))
    body["timeline"] = [store.log_json(r) for r in rows]
    body["member_ids"] = held
    return body


async def queue(request: web.Request) -> dict[str, Any]:
    """The unresolved alarms as the live snapshot has them: for clients without a socket."""
    deps = request.app[DEPS]
    async with sessions_of(request)() as session:
        alarms = await queue_store.lines(session=session)
    return {"now": deps.clock.now().isoformat(), "alarms": alarms}


async def alarm_context(request: web.Request) -> Reply:
    deps = request.app[DEPS]
    alarm_id = given(request, AlarmPath).alarm_id
    async with sessions_of(request).begin() as session:
        body = await alarm_view.alarm_context(
            session=session,
            alarm_id=alarm_id,
            now=deps.clock.now(),
            tz=deps.settings.city.tz,
            liveness=liveness_of(deps),
        )
        if body is None:
            return json_error(404, f"no alarm {alarm_id}")
        resident = body["resident"]
        await audit_api.withhold_medical(request, session, resident)
        session.add(
            audit_api.line(
                request,
                AuditAction.VIEW_ALARM,
                alarm_id=alarm_id,
                resident_id=resident["id"] if resident else None,
                community_id=resident["community"]["id"] if resident else None,
            )
        )
    body["now"] = deps.clock.now().isoformat()
    return body


async def _act(request: web.Request, act: Action) -> Reply:
    """Apply an operator's action to the alarm in one transaction; answer its new state."""
    alarm_id = given(request, AlarmPath).alarm_id
    deps = request.app[DEPS]
    now = deps.clock.now()
    try:
        async with sessions_of(request).begin() as session:
            alarm = await act(session, alarm_id, principal(request).username, now)
            await session.flush()
            held = await store.member_ids(session=session, alarm_id=alarm_id)
            body = store.alarm_json(alarm, len(held))
    except rules.TransitionError as exc:
        return json_error(exc.code, exc.message)
    deps.told(Changes.of_action(alarm, now, via="dashboard"))
    return body


def _tell(request: web.Request) -> bool:
    return request.app[DEPS].settings.notifications.tell_contacts


async def ack_alarm(request: web.Request) -> Reply:
    tell = _tell(request)

    async def take(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await actions.acknowledge(
            session=session, alarm_id=alarm_id, by=by, now=now, tell=tell
        )

    return await _act(request, take)


async def resolve_alarm(request: web.Request) -> Reply:
    sent = given(request, Resolve)
    outcome, note = sent.outcome, sent.note
    tell = _tell(request)

    async def close(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await actions.resolve(
            session=session,
            alarm_id=alarm_id,
            by=by,
            outcome=outcome,
            note=note,
            now=now,
            tell=tell,
        )

    return await _act(request, close)


async def arrived(request: web.Request) -> Reply:
    """Someone is at the door, as the operator heard (a call from the worker): the body
    may name who (`{"who": NAME}`); the operator is never recorded as at the door."""
    raw = await request.read()
    try:
        who = ArrivedBody.model_validate_json(raw).who if raw.strip() else None
    except ValidationError as exc:
        return problems(422, exc)

    async def at_door(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await actions.arrived(
            session=session, alarm_id=alarm_id, by=by, via="dashboard", now=now, who=who
        )

    return await _act(request, at_door)


async def dispatch(request: web.Request) -> Reply:
    provider_id = given(request, Dispatch).provider_id

    async def send(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await service_requests.dispatch(
            session=session, alarm_id=alarm_id, provider_id=provider_id, by=by, now=now
        )

    return await _act(request, send)


async def service_state(request: web.Request) -> Reply:
    state = given(request, ServiceUpdate).state
    tell = _tell(request)

    async def update(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await service_requests.set_state(
            session=session,
            alarm_id=alarm_id,
            state=state,
            by=by,
            via="dashboard",
            now=now,
            tell=tell,
        )

    return await _act(request, update)


async def note_alarm(request: web.Request) -> Reply:
    text = given(request, Note).note[:2000]

    async def add(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await actions.add_note(session=session, alarm_id=alarm_id, by=by, note=text, now=now)

    return await _act(request, add)
