"""Terminals over HTTP: one terminal (docs/api.md) and the list the dashboard shows."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from dispatcher.store.models import Terminal
from dispatcher.views import terminals
from dispatcher.views.terminals import terminal_json
from dispatcher.web.auth import sessions_of
from dispatcher.web.errors import json_error
from dispatcher.web.operations import Reply, given
from dispatcher.web.schemas.base import DevicePath
from dispatcher.web.schemas.terminals import TerminalsQuery
from dispatcher.web.state import DEPS, liveness_of

_MAX_TERMINALS = 2000


async def get_terminal(request: web.Request) -> Reply:
    deps = request.app[DEPS]
    device_id = given(request, DevicePath).device_id
    async with sessions_of(request)() as session:
        terminal = await session.scalar(select(Terminal).where(Terminal.device_id == device_id))
    if terminal is None:
        return json_error(404, f"no terminal {device_id}")
    return terminal_json(terminal, deps.clock.now(), liveness_of(deps))


async def list_terminals(request: web.Request) -> Reply:
    deps = request.app[DEPS]
    query = given(request, TerminalsQuery)
    async with sessions_of(request)() as session:
        return await terminals.terminals(
            session=session,
            now=deps.clock.now(),
            liveness=liveness_of(deps),
            problems_only=query.problems,
            limit=max(1, min(query.limit, _MAX_TERMINALS)),
        )
