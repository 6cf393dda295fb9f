"""The aiohttp application factory: state, middleware, response headers and the live
feeds' lifetime. The routes are in `dispatcher.web.routes`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from dispatcher.loops import watched
from dispatcher.web import auth, health, live_hub, live_sources, proxies, responder, routes
from dispatcher.web.state import DEPS, WebDeps

_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _csp(request: web.Request) -> str:
    """The policy; the map's tiles (`dashboard.map_tiles`) are the one image source
    outside, when configured."""
    tiles = request.app[DEPS].settings.dashboard.map_tiles
    if not tiles.startswith(("https://", "http://")):
        return _CSP
    parts = urlsplit(tiles.replace("{s}", "*"))
    return _CSP.replace(
        "img-src 'self' data:", f"img-src 'self' data: {parts.scheme}://{parts.netloc}"
    )


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith("/api/"):
        # residents' names, addresses and medical notes: never kept by a browser or proxy
        headers.setdefault("Cache-Control", "no-store")
    if response.content_type == "text/html":
        headers.setdefault("Content-Security-Policy", _csp(request))
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cache-Control", "no-store")


async def _once_ready(ready: asyncio.Event | None, run: Callable[[], Awaitable[None]]) -> None:
    """Start reading once the database is migrated: at a first start a new SQLite file
    takes seconds, and the follower warned that a table was missing meanwhile."""
    if ready is not None:
        await ready.wait()
    await run()


async def _live_feeds(app: web.Application) -> AsyncIterator[None]:
    """The hub's publisher, the follower, and on PostgreSQL the other processes' notices
    (on the process's LISTEN/NOTIFY connection, which the composition root runs)."""
    hub = app[live_hub.LIVE]
    ready = app[DEPS].database_ready
    tasks = [
        watched(_once_ready(ready, hub.run), name="live-hub"),
        watched(_once_ready(ready, live_sources.Follower(hub).run), name="live-follower"),
    ]
    bus = app[DEPS].bus
    if bus is not None:
        hub.bus = live_sources.LiveNotices(hub, bus)
    hub.running = True
    try:
        yield
    finally:
        hub.running = False
        hub.bus = None
        # no read of theirs is cut in the middle: the one under way ends first
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await hub.reading.acquire()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def init_ops_app(deps: WebDeps, *, open_metrics: bool = False) -> web.Application:
    """Health and metrics only: for a process without the web role, and for the metrics'
    own listener (`metrics.port`, `open_metrics`: served to whoever reaches it)."""
    app = web.Application()
    app[DEPS] = deps
    app[health.OPEN_METRICS] = open_metrics
    routes.add_ops_routes(app)
    return app


def init_app(deps: WebDeps) -> web.Application:
    http = deps.settings.http
    app = web.Application(
        middlewares=[proxies.forwarded_middleware(http.trusted_proxies), auth.auth_middleware],
        client_max_size=1024**2,
    )
    app[DEPS] = deps
    app[live_hub.LIVE] = live_hub.Hub(deps)
    app[responder.LIMITS] = responder.new_limits()
    app.cleanup_ctx.append(_live_feeds)
    app.on_shutdown.append(live_hub.on_shutdown)
    app.on_response_prepare.append(_security_headers)
    routes.add_routes(app)
    return app
