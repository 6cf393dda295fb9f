"""JSON the dashboard reads beside DESIGN.md §5: who is logged in, the queue, one alarm
with everything around it, and the terminals."""

from __future__ import annotations

from aiohttp import web

from dispatcher.store import dashboard
from dispatcher.web.auth import principal
from dispatcher.web.errors import json_error
from dispatcher.web.state import DEPS, WebDeps

_MAX_TERMINALS = 2000


def _liveness(deps: WebDeps) -> tuple[int, int]:
    hb = deps.settings.heartbeat
    return hb.interval_s, hb.offline_after_missed


async def me(request: web.Request) -> web.Response:
    who = principal(request)
    return web.json_response({"username": who.username, "role": who.role.value})


async def queue(request: web.Request) -> web.Response:
    """The unresolved alarms as the live snapshot has them: for clients without a socket."""
    deps = request.app[DEPS]
    async with deps.sessions() as session:
        alarms = await dashboard.queue(session=session)
    return web.json_response({"now": deps.clock.now().isoformat(), "alarms": alarms})


async def alarm_context(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    try:
        alarm_id = int(request.match_info["alarm_id"])
    except ValueError:
        return json_error(404, "no such alarm")
    async with deps.sessions() as session:
        body = await dashboard.alarm_context(
            session=session,
            alarm_id=alarm_id,
            now=deps.clock.now(),
            tz=deps.settings.city.tz,
            liveness=_liveness(deps),
        )
    if body is None:
        return json_error(404, f"no alarm {alarm_id}")
    body["now"] = deps.clock.now().isoformat()
    return web.json_response(body)


async def list_terminals(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    problems_only = request.query.get("problems", "") in ("1", "true", "yes")
    try:
        limit = max(1, min(int(request.query.get("limit", "500")), _MAX_TERMINALS))
    except ValueError:
        return json_error(400, "limit must be a whole number")
    async with deps.sessions() as session:
        found = await dashboard.terminals(
            session=session,
            now=deps.clock.now(),
            liveness=_liveness(deps),
            problems_only=problems_only,
            limit=limit,
        )
    return web.json_response(found)
