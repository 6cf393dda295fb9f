"""The operators' dashboard wired into the web app: pages, static files, the live
socket and its feeds, the dashboard's API, the OpenAPI description, and the headers
that keep the pages from being framed or fed foreign scripts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from aiohttp import web

from dispatcher.web import dashboard_api, live, livefeed, login_guard, openapi, pages, people_api
from dispatcher.web.state import DEPS

STATIC: Final = Path(__file__).resolve().parent / "static"
MIDDLEWARES: Final = (login_guard.middleware,)

_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


async def _security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.content_type == "text/html":
        headers.setdefault("Content-Security-Policy", _CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cache-Control", "no-store")


async def _live_feeds(app: web.Application) -> AsyncIterator[None]:
    """The hub's publisher, the follower, and on PostgreSQL the LISTEN connection."""
    hub = app[live.LIVE]
    url = app[DEPS].settings.database.url
    tasks = [
        asyncio.create_task(hub.run(), name="live-hub"),
        asyncio.create_task(livefeed.Follower(hub).run(), name="live-follower"),
    ]
    if url.startswith("postgresql"):
        bus = livefeed.PgBus(hub, url)
        hub.bus = bus
        tasks.append(asyncio.create_task(bus.run(), name="live-listen"))
    hub.running = True
    try:
        yield
    finally:
        hub.running = False
        hub.bus = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def setup(app: web.Application) -> None:
    login_guard.install(app)
    app[live.LIVE] = live.Hub(app[DEPS])
    app.cleanup_ctx.append(_live_feeds)
    app.on_shutdown.append(live.on_shutdown)
    app.on_response_prepare.append(_security_headers)

    pages.add_routes(app)
    app.router.add_static("/static/", STATIC, name="static", append_version=True)
    r = app.router
    r.add_get("/api/openapi.json", openapi.serve)
    r.add_get("/api/live", live.socket)
    r.add_get("/api/me", dashboard_api.me)
    r.add_get("/api/queue", dashboard_api.queue)
    r.add_get("/api/alarms/{alarm_id}/context", dashboard_api.alarm_context)
    r.add_get("/api/terminals", dashboard_api.list_terminals)
    r.add_get("/api/residents", people_api.search)
    r.add_get("/api/residents/{resident_id}", people_api.get_resident)
    r.add_put("/api/residents/{resident_id}", people_api.put_resident)
    r.add_get("/api/communities", people_api.list_communities)
    r.add_put("/api/communities/{community_id}/workers", people_api.put_workers)
