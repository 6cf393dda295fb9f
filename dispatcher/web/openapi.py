"""`GET /api/openapi.json`: the HTTP API described in OpenAPI 3.1.

Written by hand next to the routes; `tests/web/test_openapi.py` validates it and checks
that it names exactly the routes the app serves, so it cannot drift from them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dispatcher.rules.alarms import OPERATOR_OUTCOMES, Status
from dispatcher.web.openapi_parts import (
    ALARM_ID,
    DENIED,
    ERR,
    LIST,
    OBJ,
    body,
    op,
    path_param,
    query,
    ref,
    schemas,
)


def _paths() -> dict[str, Any]:
    alarm, line = ref("Alarm"), ref("QueueLine")
    outcomes = [o.value for o in OPERATOR_OUTCOMES]
    resident_id = path_param("resident_id", "the resident's id")
    return {
        "/healthz": {
            "get": op(
                "database and broker reachable",
                body(OBJ, "ok"),
                tag="ops",
                public=True,
                errors=("503",),
            )
        },
        "/metrics": {
            "get": op(
                "Prometheus metrics",
                {
                    "description": "text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                tag="ops",
                public=True,
            )
        },
        "/api/login": {
            "post": op(
                "a bearer token for a username and password",
                body({"type": "object", "properties": {"token": {"type": "string"}}}, "the token"),
                tag="auth",
                public=True,
                body={
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                },
                errors=("400", "429"),
            )
        },
        "/api/me": {"get": op("the logged-in user", body(OBJ, "username and role"), tag="auth")},
        "/api/openapi.json": {"get": op("this description", body(OBJ, "OpenAPI 3.1"), tag="ops")},
        "/api/alarms": {
            "get": op(
                "alarms, most urgent first",
                body({"type": "array", "items": alarm}, "alarms"),
                tag="alarms",
                params=[
                    query(
                        "status", "only alarms of this status", {"enum": [s.value for s in Status]}
                    ),
                    query("limit", "at most this many (1000)", {"type": "integer"}),
                ],
                errors=("400",),
            )
        },
        "/api/alarms/{alarm_id}": {
            "get": op(
                "one alarm with its timeline",
                body(alarm, "the alarm and `timeline`"),
                tag="alarms",
                params=[ALARM_ID],
                errors=("404",),
            )
        },
        "/api/alarms/{alarm_id}/context": {
            "get": op(
                "one alarm with resident, terminal, contacts, workers on shift, "
                "notifications and timeline",
                body(line, "the alarm view"),
                tag="alarms",
                params=[ALARM_ID],
                errors=("404",),
            )
        },
        "/api/alarms/{alarm_id}/ack": {
            "post": op(
                "the calling user takes the alarm",
                body(alarm, "the alarm"),
                tag="alarms",
                params=[ALARM_ID],
                errors=("404", "409"),
            )
        },
        "/api/alarms/{alarm_id}/resolve": {
            "post": op(
                "close the alarm with an outcome",
                body(alarm, "the alarm"),
                tag="alarms",
                params=[ALARM_ID],
                body={
                    "type": "object",
                    "required": ["outcome"],
                    "properties": {"outcome": {"enum": outcomes}, "note": {"type": "string"}},
                },
                errors=("400", "404", "409", "422"),
            )
        },
        "/api/alarms/{alarm_id}/notes": {
            "post": op(
                "add a note to the timeline",
                body(alarm, "the alarm"),
                tag="alarms",
                params=[ALARM_ID],
                body={
                    "type": "object",
                    "required": ["note"],
                    "properties": {"note": {"type": "string", "minLength": 1}},
                },
                errors=("400", "404"),
            )
        },
        "/api/queue": {
            "get": op(
                "the unresolved alarms as the live snapshot has them",
                body(
                    {
                        "type": "object",
                        "properties": {
                            "now": {"type": "string"},
                            "alarms": {"type": "array", "items": line},
                        },
                    },
                    "the queue",
                ),
                tag="alarms",
            )
        },
        "/api/live": {
            "get": {
                **op(
                    "WebSocket: a snapshot of the queue, then every alarm and terminal "
                    "change (`alarm`, `terminal`, `tick` messages)",
                    {"description": "never: the answer is 101 Switching Protocols"},
                    tag="alarms",
                    errors=("400", "503"),
                ),
                "responses": {
                    "101": {
                        "description": "WebSocket upgrade; cross-origin ones are refused (403)"
                    },
                    **DENIED,
                    "400": ERR,
                    "503": ERR,
                },
            }
        },
        "/api/terminals": {
            "get": op(
                "terminals, offline and low battery first, with residents",
                body({"type": "array", "items": ref("Terminal")}, "terminals"),
                tag="terminals",
                params=[
                    query("problems", "only offline or low-battery ones", {"type": "boolean"}),
                    query("limit", "at most this many (2000)", {"type": "integer"}),
                ],
                errors=("400",),
            )
        },
        "/api/terminals/{device_id}": {
            "get": op(
                "one terminal",
                body(ref("Terminal"), "the terminal"),
                tag="terminals",
                params=[path_param("device_id", "the terminal's device id")],
                errors=("404",),
            )
        },
        "/api/residents": {
            "get": op(
                "search residents by name, phone, address or terminal id",
                body(LIST, "residents"),
                tag="people",
                params=[query("q", "the text to look for", {"type": "string"})],
            )
        },
        "/api/residents/{resident_id}": {
            "get": op(
                "a resident's card: terminal, contacts, workers, recent alarms",
                body(OBJ, "the card"),
                tag="people",
                params=[resident_id],
                errors=("404",),
            ),
            "put": op(
                "admin: create or update a resident as a `residents:` row of the city file",
                body(OBJ, "the card"),
                tag="people",
                params=[resident_id],
                body=OBJ,
                errors=("400", "422"),
            ),
        },
        "/api/communities": {
            "get": op(
                "communities with their workers and shifts",
                body(LIST, "communities"),
                tag="people",
            )
        },
        "/api/communities/{community_id}/workers": {
            "put": op(
                "admin: replace a community's workers and shifts",
                body(LIST, "communities"),
                tag="people",
                params=[path_param("community_id", "the community's id")],
                body={"type": "object", "required": ["workers"], "properties": {"workers": LIST}},
                errors=("400", "404", "422"),
            )
        },
    }


def description() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Eldercare dispatcher",
            "version": "1",
            "description": "One-touch emergency dispatch: alarms, terminals, residents. "
            "Every /api/ path but /api/login needs a bearer token or the dashboard's "
            "session cookie (then an X-CSRF-Token header on POST and PUT).",
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": _paths(),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "dispatcher_session"},
            },
        },
    }


async def serve(_request: web.Request) -> web.Response:
    return web.json_response(description())
