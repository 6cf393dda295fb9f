"""Every route of the web app, in one place: the API, Twilio's webhooks, the dashboard's
pages and static files, health and metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

from dispatcher.web import (
    alarms_api,
    auth,
    health,
    live_hub,
    openapi,
    pages,
    people_api,
    terminals_api,
    twilio_hooks,
)

STATIC: Final = Path(__file__).resolve().parent / "static"


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/healthz", health.healthz)
    r.add_get("/metrics", health.metrics)

    r.add_post("/api/login", auth.login)
    r.add_get("/api/me", auth.me)
    r.add_get("/api/openapi.json", openapi.serve)
    r.add_get("/api/live", live_hub.socket)

    r.add_get("/api/alarms", alarms_api.list_alarms)
    r.add_get("/api/alarms/{alarm_id}", alarms_api.get_alarm)
    r.add_get("/api/alarms/{alarm_id}/context", alarms_api.alarm_context)
    r.add_post("/api/alarms/{alarm_id}/ack", alarms_api.ack_alarm)
    r.add_post("/api/alarms/{alarm_id}/resolve", alarms_api.resolve_alarm)
    r.add_post("/api/alarms/{alarm_id}/notes", alarms_api.note_alarm)
    r.add_get("/api/queue", alarms_api.queue)

    r.add_get("/api/terminals", terminals_api.list_terminals)
    r.add_get("/api/terminals/{device_id}", terminals_api.get_terminal)

    r.add_get("/api/residents", people_api.search)
    r.add_get("/api/residents/{resident_id}", people_api.get_resident)
    r.add_put("/api/residents/{resident_id}", people_api.put_resident)
    r.add_get("/api/communities", people_api.list_communities)
    r.add_put("/api/communities/{community_id}/workers", people_api.put_workers)

    r.add_post("/twilio/status/{nid}", twilio_hooks.status)
    r.add_post("/twilio/voice/{nid}", twilio_hooks.voice)
    r.add_post("/twilio/gather/{nid}", twilio_hooks.gather)
    r.add_post("/twilio/sms", twilio_hooks.sms)

    r.add_get("/", pages.root)
    r.add_get("/login", pages.login_form)
    r.add_post("/login", pages.login_submit)
    r.add_post("/logout", pages.logout)
    r.add_get("/lang/{lang}", pages.set_lang)
    for page in pages.PAGES:
        r.add_get(page.path, pages.page_handler(page))
    r.add_static("/static/", STATIC, name="static", append_version=True)
