"""Terminals over HTTP: one terminal (DESIGN.md §5) and the list the dashboard shows."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from dispatcher.store import terminals
from dispatcher.store.models import Terminal
from dispatcher.store.terminals import terminal_json
from dispatcher.web.errors import json_error
from dispatcher.web.state import DEPS, liveness_of

_MAX_TERMINALS = 2000


async def get_terminal(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    device_id = request.match_info["device_id"]
    async with deps.sessions() as session:
        terminal = await session.scalar(select(Terminal).where(Terminal.device_id == device_id))
    if terminal is None:
        return json_error(404, f"no terminal {device_id}")
    return web.json_response(terminal_json(terminal, deps.clock.now(), liveness_of(deps)))


async def list_terminals(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    problems_only = request.query.get("problems", "") in ("1", "true", "yes")
    try:
        limit = max(1, min(int(request.query.get("limit", "500")), _MAX_TERMINALS))
    except ValueError:
        return json_error(400, "limit must be a whole number")
    async with deps.sessions() as session:
        found = await terminals.terminals(
            session=session,
            now=deps.clock.now(),
            liveness=liveness_of(deps),
            problems_only=problems_only,
            limit=limit,
        )
    return web.json_response(found)
