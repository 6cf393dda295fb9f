"""Alarms over HTTP: the list and one alarm (DESIGN.md §5), the queue and the alarm view
the dashboard reads, and what people do to an alarm (take, resolve, note)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import alarms as rules
from dispatcher.store import actions, alarm_view
from dispatcher.store import alarms as store
from dispatcher.store import queue as queue_store
from dispatcher.store.models import Alarm
from dispatcher.web.auth import principal
from dispatcher.web.errors import json_error
from dispatcher.web.operations import Reply, given
from dispatcher.web.schemas.alarms import AlarmsQuery, Note, Resolve
from dispatcher.web.schemas.base import AlarmPath
from dispatcher.web.state import DEPS, liveness_of

_MAX_LIMIT = 1000

# (session, alarm_id, by, now) -> the changed alarm
Action = Callable[[AsyncSession, int, str, datetime], Awaitable[Alarm]]


async def list_alarms(request: web.Request) -> list[dict[str, Any]]:
    query = given(request, AlarmsQuery)
    limit = max(1, min(query.limit, _MAX_LIMIT))
    async with request.app[DEPS].sessions() as session:
        found = await store.list_alarms(session=session, status=query.status, limit=limit)
    return [store.alarm_json(a) for a in found]


async def get_alarm(request: web.Request) -> Reply:
    alarm_id = given(request, AlarmPath).alarm_id
    async with request.app[DEPS].sessions() as session:
        alarm = await store.get_alarm(session=session, alarm_id=alarm_id)
        if alarm is None:
            return json_error(404, f"no alarm {alarm_id}")
        rows = await store.timeline(session=session, alarm_id=alarm_id)
    body = store.alarm_json(alarm)
    body["timeline"] = [store.log_json(r) for r in rows]
    return body


async def queue(request: web.Request) -> dict[str, Any]:
    """The unresolved alarms as the live snapshot has them: for clients without a socket."""
    deps = request.app[DEPS]
    async with deps.sessions() as session:
        alarms = await queue_store.queue(session=session)
    return {"now": deps.clock.now().isoformat(), "alarms": alarms}


async def alarm_context(request: web.Request) -> Reply:
    deps = request.app[DEPS]
    alarm_id = given(request, AlarmPath).alarm_id
    async with deps.sessions() as session:
        body = await alarm_view.alarm_context(
            session=session,
            alarm_id=alarm_id,
            now=deps.clock.now(),
            tz=deps.settings.city.tz,
            liveness=liveness_of(deps),
        )
    if body is None:
        return json_error(404, f"no alarm {alarm_id}")
    body["now"] = deps.clock.now().isoformat()
    return body


async def _act(request: web.Request, act: Action) -> Reply:
    """Apply an operator's action to the alarm in one transaction; answer its new state."""
    alarm_id = given(request, AlarmPath).alarm_id
    deps = request.app[DEPS]
    try:
        async with deps.sessions.begin() as session:
            alarm = await act(session, alarm_id, principal(request).username, deps.clock.now())
            body = store.alarm_json(alarm)
    except rules.TransitionError as exc:
        return json_error(exc.code, exc.message)
    deps.changed(alarm_id)
    return body


async def ack_alarm(request: web.Request) -> Reply:
    async def take(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await actions.acknowledge(session=session, alarm_id=alarm_id, by=by, now=now)

    return await _act(request, take)


async def resolve_alarm(request: web.Request) -> Reply:
    sent = given(request, Resolve)
    outcome, note = sent.outcome, sent.note

    async def close(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await actions.resolve(
            session=session, alarm_id=alarm_id, by=by, outcome=outcome, note=note, now=now
        )

    return await _act(request, close)


async def note_alarm(request: web.Request) -> Reply:
    text = given(request, Note).note[:2000]

    async def add(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await actions.add_note(session=session, alarm_id=alarm_id, by=by, note=text, now=now)

    return await _act(request, add)
