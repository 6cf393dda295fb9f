"""`GET /api/wall` and `GET /api/map` (docs/api.md): the wallboard's figures, and the
map's markers with its tiles from the configuration."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from dispatcher.store.models import Resident
from dispatcher.views import wall as views
from dispatcher.web.auth import sessions_of
from dispatcher.web.operations import Reply
from dispatcher.web.state import DEPS, liveness_of


async def wall(request: web.Request) -> Reply:
    deps = request.app[DEPS]
    async with sessions_of(request)() as session:
        return await views.wall_figures(
            session=session,
            now=deps.clock.now(),
            tz=deps.settings.city.tz,
            liveness=liveness_of(deps),
        )


async def map_data(request: web.Request) -> Reply:
    deps = request.app[DEPS]
    dashboard = deps.settings.dashboard
    async with sessions_of(request)() as session:
        markers = await views.map_markers(
            session=session, now=deps.clock.now(), liveness=liveness_of(deps)
        )
        box = (
            await session.execute(
                select(
                    func.min(Resident.lat),
                    func.min(Resident.lon),
                    func.max(Resident.lat),
                    func.max(Resident.lon),
                )
            )
        ).one()
    extent: list[float] | None = (
        [float(v) for v in box] if all(v is not None for v in box) else None
    )
    body: dict[str, Any] = {
        "tiles": dashboard.map_tiles or None,
        "attribution": dashboard.map_attribution or None,
        "extent": extent,
        "markers": markers,
    }
    return body
