"""The aiohttp application factory: routes and middleware, nothing else."""

from __future__ import annotations

from aiohttp import web

from dispatcher.web import api, auth, dashboard, health, twilio_hooks
from dispatcher.web.state import DEPS, WebDeps


def init_app(deps: WebDeps) -> web.Application:
    app = web.Application(
        middlewares=[*dashboard.MIDDLEWARES, auth.auth_middleware], client_max_size=1024**2
    )
    app[DEPS] = deps
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/metrics", health.metrics)
    app.router.add_post("/api/login", auth.login)
    app.router.add_get("/api/alarms", api.list_alarms)
    app.router.add_get("/api/alarms/{alarm_id}", api.get_alarm)
    app.router.add_post("/api/alarms/{alarm_id}/ack", api.ack_alarm)
    app.router.add_post("/api/alarms/{alarm_id}/resolve", api.resolve_alarm)
    app.router.add_post("/api/alarms/{alarm_id}/notes", api.note_alarm)
    app.router.add_get("/api/terminals/{device_id}", api.get_terminal)
    twilio_hooks.setup(app)
    dashboard.setup(app)  # pages, live socket, the dashboard's API, OpenAPI
    return app
