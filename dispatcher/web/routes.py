"""Every route of the web app, in one place: the API (with the models of what each
operation takes and answers, from which `/api/openapi.json` is written), Twilio's
webhooks, the dashboard's pages and static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from aiohttp import web

from dispatcher.users.accounts import Role
from dispatcher.web import (
    alarms_api,
    aliyun_hooks,
    audit_api,
    calls_api,
    checkins_api,
    health,
    live_hub,
    login_api,
    openapi,
    pages,
    people_api,
    reports_api,
    terminals_api,
    twilio_calls,
    twilio_hooks,
    wall_api,
)
from dispatcher.web import responder as responder_page
from dispatcher.web.operations import OPERATIONS, Operation
from dispatcher.web.schemas import alarms, calls, checkins, people, terminals
from dispatcher.web.schemas.audit import AuditLine, AuditQuery
from dispatcher.web.schemas.auth import Login, Me, Token
from dispatcher.web.schemas.base import (
    AlarmPath,
    CityInvalid,
    CommunityPath,
    DevicePath,
    Invalid,
    ResidentPath,
)
from dispatcher.web.schemas.health import Health
from dispatcher.web.schemas.reports import DailyRow, ReportQuery, ReportSummary
from dispatcher.web.schemas.wall import MapAnswer, ResponderActionPath, TokenPath, Wall

STATIC: Final = Path(__file__).resolve().parent / "static"
CITY_RULES: Final = "the city data rules of `dispatcher load`"

API: Final = (
    Operation(
        method="GET",
        path="/healthz",
        handler=health.healthz,
        summary="database and broker reachable",
        tag="ops",
        ok=Health,
        public=True,
        error_bodies={503: Health},
    ),
    Operation(
        method="GET",
        path="/metrics",
        handler=health.metrics,
        summary="Prometheus metrics, text format: only with the bearer token of "
        "`metrics.token`, from a network of `metrics.allow`, or on the listener of `metrics.port`",
        tag="ops",
        ok=str,
        content="text/plain",
        public=True,
        errors=(401,),
    ),
    Operation(
        method="POST",
        path="/api/login",
        handler=login_api.login,
        summary="a bearer token for a username and password",
        tag="auth",
        body=Login,
        ok=Token,
        public=True,
        errors=(401, 429),
    ),
    Operation(
        method="POST",
        path="/api/logout",
        handler=login_api.logout,
        summary="end the calling token or dashboard session at once (its live sockets close)",
        tag="auth",
        wallboard=True,
        other_answers={204: "ended; the token is refused from now on (401)"},
    ),
    Operation(
        method="GET",
        path="/api/me",
        handler=login_api.me,
        summary="the logged-in user: name, role and scope (the part of the city they see; "
        "null: the whole city)",
        tag="auth",
        wallboard=True,
        ok=Me,
    ),
    Operation(
        method="GET",
        path="/api/openapi.json",
        handler=openapi.serve,
        summary="this description (no login: it holds the routes' shapes, no data)",
        tag="ops",
        public=True,
        ok=dict[str, Any],
    ),
    Operation(
        method="GET",
        path="/api/live",
        handler=live_hub.socket,
        summary="WebSocket: a snapshot of the queue, then every alarm and terminal change "
        "(`alarm`, `terminal`, `tick` messages)",
        tag="alarms",
        wallboard=True,
        other_answers={101: "WebSocket upgrade; cross-origin ones are refused (403)"},
        errors=(400, 503),
    ),
    Operation(
        method="GET",
        path="/api/alarms",
        handler=alarms_api.list_alarms,
        summary="alarms, most urgent first; with status=resolved or all, the history, newest "
        "first (page on with `before`)",
        tag="alarms",
        query=alarms.AlarmsQuery,
        ok=list[alarms.HistoryLine],
    ),
    Operation(
        method="GET",
        path="/api/alarms.csv",
        handler=alarms_api.alarms_csv,
        summary="the alarms of the same filters as CSV (UTF-8 with a BOM), newest first, all of "
        "them; the export is written to the audit log",
        tag="alarms",
        role=Role.SUPERVISOR,
        query=alarms.AlarmFilters,
        ok=str,
        content="text/csv",
    ),
    Operation(
        method="GET",
        path="/api/alarms/{alarm_id}",
        handler=alarms_api.get_alarm,
        path_params=AlarmPath,
        summary="one alarm with its timeline",
        tag="alarms",
        ok=alarms.AlarmDetail,
        errors=(404,),
    ),
    Operation(
        method="GET",
        path="/api/alarms/{alarm_id}/context",
        handler=alarms_api.alarm_context,
        path_params=AlarmPath,
        summary="one alarm with resident, terminal, contacts, workers, notifications and timeline",
        tag="alarms",
        ok=alarms.AlarmView,
        errors=(404,),
    ),
    Operation(
        method="POST",
        path="/api/alarms/{alarm_id}/ack",
        handler=alarms_api.ack_alarm,
        path_params=AlarmPath,
        summary="the calling user takes the alarm",
        tag="alarms",
        ok=alarms.Alarm,
        errors=(404, 409),
    ),
    Operation(
        method="POST",
        path="/api/alarms/{alarm_id}/resolve",
        handler=alarms_api.resolve_alarm,
        path_params=AlarmPath,
        summary="close the alarm with an outcome",
        tag="alarms",
        body=alarms.Resolve,
        ok=alarms.Alarm,
        errors=(404, 409),
    ),
    Operation(
        method="POST",
        path="/api/alarms/{alarm_id}/arrived",
        path_params=AlarmPath,
        handler=alarms_api.arrived,
        summary="someone is at the door (the first one sets `arrived_at`); an optional "
        'body `{"who": NAME}` names them (the operator is never recorded as at the door)',
        tag="alarms",
        ok=alarms.Alarm,
        errors=(404, 409),
    ),
    Operation(
        method="POST",
        path="/api/alarms/{alarm_id}/dispatch",
        path_params=AlarmPath,
        handler=alarms_api.dispatch,
        summary="send a service request to a provider of its community (by SMS); the "
        "operator takes it if nobody had",
        tag="alarms",
        body=alarms.Dispatch,
        ok=alarms.Alarm,
        errors=(404, 409),
    ),
    Operation(
        method="POST",
        path="/api/alarms/{alarm_id}/service",
        path_params=AlarmPath,
        handler=alarms_api.service_state,
        summary="how far a service request is; `done` closes it (outcome service_done)",
        tag="alarms",
        body=alarms.ServiceUpdate,
        ok=alarms.Alarm,
        errors=(404, 409),
    ),
    Operation(
        method="POST",
        path="/api/alarms/{alarm_id}/notes",
        handler=alarms_api.note_alarm,
        path_params=AlarmPath,
        summary="add a note to the timeline",
        tag="alarms",
        body=alarms.Note,
        ok=alarms.Alarm,
        errors=(404,),
    ),
    Operation(
        method="POST",
        path="/api/alarms/{alarm_id}/call",
        handler=calls_api.call,
        path_params=AlarmPath,
        summary="the voice provider rings the calling operator's own phone (`dispatcher user "
        "phone`), then connects the resident, a contact, a worker or a provider; the call, "
        "who answered and how long they talked go into the timeline. 409: the operator or "
        "the other party has no phone; 502: the provider refused the call",
        tag="alarms",
        role=Role.OPERATOR,
        body=calls.CallRequest,
        ok=calls.CallPlaced,
        errors=(404, 409, 502, 503),
    ),
    Operation(
        method="GET",
        path="/api/queue",
        handler=alarms_api.queue,
        summary="the unresolved alarms as the live snapshot has them",
        tag="alarms",
        ok=alarms.Queue,
    ),
    Operation(
        method="GET",
        path="/api/terminals",
        handler=terminals_api.list_terminals,
        summary="terminals, offline and low battery first, with residents",
        tag="terminals",
        query=terminals.TerminalsQuery,
        ok=list[terminals.TerminalLine],
    ),
    Operation(
        method="GET",
        path="/api/terminals/{device_id}",
        handler=terminals_api.get_terminal,
        path_params=DevicePath,
        summary="one terminal",
        tag="terminals",
        ok=terminals.Terminal,
        errors=(404,),
    ),
    Operation(
        method="GET",
        path="/api/residents",
        handler=people_api.search,
        summary="search residents by name, phone, address or terminal id",
        tag="people",
        query=people.ResidentsQuery,
        ok=list[people.ResidentFound],
    ),
    Operation(
        method="GET",
        path="/api/residents/{resident_id}",
        handler=people_api.get_resident,
        path_params=ResidentPath,
        summary="a resident's card: terminal, contacts, workers, recent alarms",
        tag="people",
        ok=people.ResidentCard,
        errors=(404,),
    ),
    Operation(
        method="PUT",
        path="/api/residents/{resident_id}",
        handler=people_api.put_resident,
        path_params=ResidentPath,
        summary="create or update a resident as a `residents:` row of the city file",
        tag="people",
        bad_path=400,
        role=Role.ADMIN,
        body=people.ResidentEdit,
        body_rules=CITY_RULES,
        ok=people.ResidentCard,
        errors=(400,),
        error_bodies={422: Invalid | CityInvalid},
    ),
    Operation(
        method="PUT",
        path="/api/residents/{resident_id}/checkin",
        path_params=ResidentPath,
        handler=checkins_api.put_checkin,
        summary="a resident's daily check-in window and pause",
        tag="people",
        role=Role.SUPERVISOR,
        body=checkins.CheckinEdit,
        ok=checkins.Checkin,
        errors=(404,),
    ),
    Operation(
        method="GET",
        path="/api/checkins",
        handler=checkins_api.today,
        summary="today's check-ins: who has checked in and who has not, missed first",
        tag="people",
        query=checkins.CheckinsQuery,
        ok=list[checkins.CheckinLine],
    ),
    Operation(
        method="GET",
        path="/api/reports/daily",
        handler=reports_api.daily,
        summary="the daily figures per community and local day, as `dispatcher report`",
        tag="reports",
        role=Role.SUPERVISOR,
        query=ReportQuery,
        ok=list[DailyRow],
        errors=(404,),
    ),
    Operation(
        method="GET",
        path="/api/reports/summary",
        handler=reports_api.summary,
        summary="the city's shares against the targets over the range, then its communities, "
        "worst first",
        tag="reports",
        role=Role.SUPERVISOR,
        query=ReportQuery,
        ok=ReportSummary,
        errors=(404,),
    ),
    Operation(
        method="GET",
        path="/api/audit",
        handler=audit_api.lines,
        summary="who viewed or changed a resident's record, newest first",
        tag="audit",
        role=Role.SUPERVISOR,
        query=AuditQuery,
        ok=list[AuditLine],
    ),
    Operation(
        method="GET",
        path="/api/communities",
        handler=people_api.list_communities,
        summary="communities with their workers and shifts",
        tag="people",
        ok=list[people.Community],
    ),
    Operation(
        method="PUT",
        path="/api/communities/{community_id}/workers",
        handler=people_api.put_workers,
        path_params=CommunityPath,
        summary="replace a community's workers and their shifts",
        tag="people",
        role=Role.ADMIN,
        body=people.WorkersEdit,
        body_rules=CITY_RULES,
        ok=list[people.Community],
        errors=(404,),
        error_bodies={422: Invalid | CityInvalid},
    ),
    # --- people in the field and above the queue (docs/api.md) ----------------------
    Operation(
        method="GET",
        path="/api/wall",
        handler=wall_api.wall,
        summary="the wallboard's figures: open emergencies, the longest wait, today's shares "
        "answered within 60 s and 180 s and attended within 45 min, terminals offline, missed "
        "check-ins; per community open alarms and the workers on shift",
        tag="wall",
        role=Role.SUPERVISOR,
        wallboard=True,
        ok=Wall,
    ),
    Operation(
        method="GET",
        path="/api/map",
        handler=wall_api.map_data,
        summary="open alarms and offline terminals where they are, with the configured tiles",
        tag="wall",
        ok=MapAnswer,
    ),
    Operation(
        method="GET",
        path="/r/{token}",
        handler=responder_page.page,
        path_params=TokenPath,
        summary="the responder's page (HTML for a phone), opened from the link in an SMS "
        "that asks to act; no login: the link is the credential (one recipient, one alarm, "
        "until 24 h after it closes); every view is audited",
        tag="responder",
        public=True,
        ok=str,
        content="text/html",
        errors=(429,),
    ),
    Operation(
        method="POST",
        path="/r/{token}/{action}",
        handler=responder_page.act,
        path_params=ResponderActionPath,
        summary="a button of the responder's page, the same as the SMS reply code (take 1, "
        "decline 2, arrived 3, done 4); the timeline says it came by link; answers the page",
        tag="responder",
        public=True,
        ok=str,
        content="text/html",
        errors=(403, 429),
    ),
)


def add_ops_routes(app: web.Application) -> None:
    """`/healthz` and `/metrics` alone: a process without the web role (`dispatcher run
    --roles engine,notifier`) is watched as the others are."""
    ops = tuple(op for op in API if op.tag == "ops")
    app[OPERATIONS] = ops
    for op in ops:
        app.router.add_get(op.path, op.serve())


def add_routes(app: web.Application) -> None:
    r = app.router
    app[OPERATIONS] = API
    for op in API:
        if op.method == "GET":
            r.add_get(op.path, op.serve())  # and HEAD
        else:
            r.add_route(op.method, op.path, op.serve())

    r.add_post("/twilio/status/{nid}", twilio_hooks.status)
    r.add_post("/twilio/voice/{nid}", twilio_hooks.voice)
    r.add_post("/twilio/gather/{nid}", twilio_hooks.gather)
    r.add_post("/twilio/sms", twilio_hooks.sms)
    r.add_post("/twilio/call/{cid}/bridge", twilio_calls.bridge)
    r.add_post("/twilio/call/{cid}/status", twilio_calls.status)
    r.add_post("/twilio/call/{cid}/party", twilio_calls.party)
    r.add_post("/twilio/call/{cid}/dialed", twilio_calls.dialed)
    aliyun_hooks.add_routes(app)

    r.add_get("/", pages.root)
    r.add_get("/login", pages.login_form)
    r.add_post("/login", pages.login_submit)
    r.add_post("/logout", pages.logout)
    r.add_get("/lang/{lang}", pages.set_lang)
    for page in pages.PAGES:
        r.add_get(page.path, pages.page_handler(page))
    r.add_static("/static/", STATIC, name="static", append_version=True)
