"""Alarms over HTTP: the list and one alarm (DESIGN.md §5), the queue and the alarm view
the dashboard reads, and what people do to an alarm (take, resolve, note)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import alarms as rules
from dispatcher.store import actions, alarm_view
from dispatcher.store import alarms as store
from dispatcher.store import queue as queue_store
from dispatcher.store.models import Alarm
from dispatcher.web.auth import principal, read_json
from dispatcher.web.errors import json_error
from dispatcher.web.state import DEPS, liveness_of

_MAX_LIMIT = 1000

# (session, alarm_id, by, now) -> the changed alarm
Action = Callable[[AsyncSession, int, str, datetime], Awaitable[Alarm]]


async def list_alarms(request: web.Request) -> web.Response:
    raw_status = request.query.get("status")
    try:
        status = rules.Status(raw_status) if raw_status else None
    except ValueError:
        allowed = ", ".join(s.value for s in rules.Status)
        return json_error(400, f"unknown status {raw_status!r}; one of: {allowed}")
    try:
        limit = min(int(request.query.get("limit", "200")), _MAX_LIMIT)
    except ValueError:
        return json_error(400, "limit must be a whole number")
    async with request.app[DEPS].sessions() as session:
        found = await store.list_alarms(session=session, status=status, limit=max(limit, 1))
    return web.json_response([store.alarm_json(a) for a in found])


def _alarm_id(request: web.Request) -> int:
    try:
        return int(request.match_info["alarm_id"])
    except ValueError:
        raise web.HTTPNotFound(
            text='{"error": "no such alarm"}', content_type="application/json"
        ) from None


async def get_alarm(request: web.Request) -> web.Response:
    alarm_id = _alarm_id(request)
    async with request.app[DEPS].sessions() as session:
        alarm = await store.get_alarm(session=session, alarm_id=alarm_id)
        if alarm is None:
            return json_error(404, f"no alarm {alarm_id}")
        rows = await store.timeline(session=session, alarm_id=alarm_id)
    body = store.alarm_json(alarm)
    body["timeline"] = [store.log_json(r) for r in rows]
    return web.json_response(body)


async def queue(request: web.Request) -> web.Response:
    """The unresolved alarms as the live snapshot has them: for clients without a socket."""
    deps = request.app[DEPS]
    async with deps.sessions() as session:
        alarms = await queue_store.queue(session=session)
    return web.json_response({"now": deps.clock.now().isoformat(), "alarms": alarms})


async def alarm_context(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    try:
        alarm_id = int(request.match_info["alarm_id"])
    except ValueError:
        return json_error(404, "no such alarm")
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
    return web.json_response(body)


async def _act(request: web.Request, act: Action) -> web.Response:
    """Apply an operator's action to the alarm in one transaction; answer its new state."""
    alarm_id = _alarm_id(request)
    deps = request.app[DEPS]
    try:
        async with deps.sessions.begin() as session:
            alarm = await act(session, alarm_id, principal(request).username, deps.clock.now())
            body = store.alarm_json(alarm)
    except rules.TransitionError as exc:
        return json_error(exc.code, exc.message)
    deps.changed(alarm_id)
    return web.json_response(body)


async def ack_alarm(request: web.Request) -> web.Response:
    async def take(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await actions.acknowledge(session=session, alarm_id=alarm_id, by=by, now=now)

    return await _act(request, take)


async def resolve_alarm(request: web.Request) -> web.Response:
    payload = await read_json(request)
    outcome, note = payload.get("outcome"), payload.get("note")
    if not isinstance(outcome, str) or (note is not None and not isinstance(note, str)):
        return json_error(400, "outcome is a required string; note an optional string")

    async def close(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await actions.resolve(
            session=session, alarm_id=alarm_id, by=by, outcome=outcome, note=note, now=now
        )

    return await _act(request, close)


async def note_alarm(request: web.Request) -> web.Response:
    note = (await read_json(request)).get("note")
    if not isinstance(note, str) or not note.strip():
        return json_error(400, "note must be a non-empty string")
    text = note.strip()[:2000]

    async def add(session: AsyncSession, alarm_id: int, by: str, now: datetime) -> Alarm:
        return await actions.add_note(session=session, alarm_id=alarm_id, by=by, note=text, now=now)

    return await _act(request, add)
