"""`/healthz` for load balancers and `/metrics` for Prometheus. The metrics tell failed
logins and open alarms: they go only to whom `metrics` in the configuration allows (its
token, its networks, or anyone on its own listener)."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from typing import Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from dispatcher.views.ops_figures import OpsFigures, ops_figures
from dispatcher.web.errors import json_error
from dispatcher.web.operations import Reply, answer
from dispatcher.web.schemas.health import Health
from dispatcher.web.state import DEPS

log = logging.getLogger("dispatcher.web")

# set on the app of the metrics' own listener (`metrics.port`): whoever reaches it may read
OPEN_METRICS: Final = web.AppKey("open_metrics", bool)


def _may_scrape(request: web.Request) -> bool:
    if request.app.get(OPEN_METRICS, False):
        return True
    config = request.app[DEPS].settings.metrics
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if (
        config.token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(sent.strip().encode(), config.token.encode())
    ):
        return True
    try:
        client = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(n, strict=False) for n in config.allow)


async def healthz(request: web.Request) -> Reply:
    return await _health(request, starting=False)


async def healthz_response(request: web.Request, *, starting: bool) -> web.Response:
    """/healthz's answer as a response, for any request while the service starts."""
    reply = await _health(request, starting=starting)
    if isinstance(reply, web.Response):
        return reply
    return web.json_response(reply)


async def _health(request: web.Request, *, starting: bool) -> Reply:
    deps = request.app[DEPS]
    problems: dict[str, str | bool] = {}
    try:
        async with asyncio.timeout(2), deps.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        problems["database"] = f"unreachable: {type(exc).__name__}"
    if not deps.broker_ok():
        problems["broker"] = "not connected"
    if starting:
        problems["starting"] = True
    if problems:
        return answer(Health.model_validate({"status": "unavailable", **problems}), 503)
    return {"status": "ok"}


async def metrics(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    if not _may_scrape(request):
        log.warning("refused /metrics to %s: not allowed by `metrics`", request.remote)
        return json_error(
            401, "metrics need the token of `metrics.token`", headers={"WWW-Authenticate": "Bearer"}
        )
    hb = deps.settings.heartbeat
    figures: OpsFigures | None = None
    try:
        async with asyncio.timeout(5), deps.sessions() as session:
            figures = await ops_figures(
                session=session,
                now=deps.clock.now(),
                interval_s=hb.interval_s,
                offline_after_missed=hb.offline_after_missed,
            )
    except Exception:
        log.warning("metrics: the database could not be read", exc_info=True)
    deps.metrics.refresh(figures)
    # what /healthz says: every broker session this process needs (none: 1)
    deps.metrics.mqtt_connected.set(1 if deps.broker_ok() else 0)
    body = generate_latest(deps.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
