"""Pieces of the OpenAPI description (`dispatcher.web.openapi`): the helpers that
write operations, and the shared schemas."""

from __future__ import annotations

from typing import Any, Final

from dispatcher.rules.alarms import Outcome, Status
from dispatcher.rules.policy import AlarmKind

JSON: Final = "application/json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


ERR: Final = body(ref("Error"), "an error")
DENIED: Final = {"401": ERR, "403": ERR}


def path_param(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": kind},
    }


def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def op(
    summary: str,
    ok: dict[str, Any],
    *,
    tag: str,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    errors: tuple[str, ...] = (),
    public: bool = False,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {"200": ok}}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    if public:
        op["security"] = []
    else:
        op["responses"].update(DENIED)
    for code in errors:
        op["responses"][code] = ERR
    return op


ALARM_ID: Final = path_param("alarm_id", "the alarm's id", "integer")
OBJ: Final = {"type": "object"}
LIST: Final = {"type": "array", "items": OBJ}


def schemas() -> dict[str, Any]:
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
        },
        "Alarm": {
            "type": "object",
            "required": ["id", "kind", "type", "status", "priority", "created_at", "step"],
            "properties": {
                "id": {"type": "integer"},
                "device_id": {"type": ["string", "null"]},
                "resident_id": {"type": ["string", "null"]},
                "kind": {"enum": [k.value for k in AlarmKind]},
                "type": {"type": "string"},
                "status": {"enum": [s.value for s in Status]},
                "priority": {"type": "integer", "minimum": 1},
                "created_at": {"type": "string", "format": "date-time"},
                "acknowledged_at": nullable_time,
                "acknowledged_by": {"type": ["string", "null"]},
                "resolved_at": nullable_time,
                "outcome": {"enum": [*(o.value for o in Outcome), None]},
                "step": {"type": "integer", "minimum": 0},
            },
        },
        "QueueLine": {
            "allOf": [ref("Alarm")],
            "description": "an alarm with `rev` (its newest timeline id) and its resident",
        },
        "Terminal": {
            "type": "object",
            "required": ["device_id", "online"],
            "properties": {
                "device_id": {"type": "string"},
                "resident_id": {"type": ["string", "null"]},
                "online": {"type": "boolean"},
                "last_seen": nullable_time,
                "battery": {"type": ["integer", "null"]},
            },
        },
    }
