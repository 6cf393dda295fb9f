"""`GET /api/openapi.json`: the HTTP API described in OpenAPI 3.1, written from the
operations of `dispatcher.web.routes` and the pydantic models they name.

pydantic writes JSON Schema 2020-12, which is OpenAPI 3.1's own dialect, so a model's
schema goes into `components.schemas` as it is. `tests/web/test_openapi.py` validates
the result, checks it names exactly the routes the app serves, and checks every GET's
real answer against it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Final

from aiohttp import web
from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from dispatcher.web.operations import JSON, OPERATIONS, Operation
from dispatcher.web.schemas.base import Error, Invalid

_REF: Final = "#/components/schemas/{model}"

_ERRORS: Final = {
    400: "a query it refuses, or a bad id",
    401: "not logged in",
    403: "a role without the right, or a cookie session without its CSRF token",
    404: "no such thing",
    409: "not allowed in the alarm's state (a call: the operator or the other has no phone)",
    422: "a body it refuses",
    429: "too many failed logins: try again later",
    502: "the provider (voice, SMS) refused it or could not be reached",
    503: "not available now",
}


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema, without the titles it makes up for every field."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _error_bodies(op: Operation) -> dict[int, Any]:
    found: dict[int, Any] = {}
    if not op.public:
        found |= {401: Error, 403: Error}
    if op.query is not None:
        found[400] = Invalid
    if op.body is not None:
        found[422] = Invalid
    if op.path_params is not None:
        found[op.bad_path] = Error
    found |= dict.fromkeys(op.errors, Error)
    return found | dict(op.error_bodies)


def _parameters(where: str, model: dict[str, Any], names: Sequence[str]) -> list[dict[str, Any]]:
    """A path or query model's properties as parameters (`names`: the path's, in order)."""
    required = set(model.get("required", ()))
    properties = model.get("properties", {})
    if where == "path" and set(names) != set(properties):
        raise ValueError(f"the path names {names}, its model {sorted(properties)}")
    described = []
    for name in names or list(properties):
        schema = _without_null(properties[name])
        described.append(
            {
                "name": name,
                "in": where,
                "required": where == "path" or name in required,
                "description": schema.pop("description", ""),
                "schema": schema,
            }
        )
    return described


def _operation(
    op: Operation,
    schemas: dict[tuple[int, Hashable], Any],
    index: int,
    path: dict[str, Any],
    query: dict[str, Any],
) -> dict[str, Any]:
    described: dict[str, Any] = {"summary": op.summary, "tags": [op.tag]}
    notes = []
    if op.role is not None:
        notes.append(f"Needs the {op.role.value} role.")
    if op.wallboard:
        notes.append("The wallboard's screen (role wallboard) may call it too.")
    if op.body_rules is not None:
        notes.append(
            f"The body is checked by {op.body_rules}: 422 lists every problem with its place."
        )
    if notes:
        described["description"] = " ".join(notes)
    parameters = _parameters("path", path, _path_names(op.path)) + _parameters("query", query, ())
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": schemas[index, "body"]}},
        }
    responses: dict[str, Any] = {}
    if op.ok is not None:
        responses["200"] = {
            "description": op.summary,
            "content": {op.content: {"schema": schemas[index, 200]}},
        }
    for status, meaning in op.other_answers.items():
        responses[str(status)] = {"description": meaning}
    for status in sorted(_error_bodies(op)):
        responses[str(status)] = {
            "description": _ERRORS[status],
            "content": {JSON: {"schema": schemas[index, status]}},
        }
    described["responses"] = responses
    if op.public:
        described["security"] = []
    return described


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without pydantic's `null`: an absent one is the None."""
    kept = dict(schema)
    choices = [c for c in kept.pop("anyOf", ()) if c != {"type": "null"}]
    if len(choices) == 1:
        kept |= choices[0]
    elif choices:
        kept["anyOf"] = choices
    if kept.get("default", "") is None:
        del kept["default"]
    return kept


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def description(operations: Sequence[Operation]) -> dict[str, Any]:
    inputs: list[tuple[tuple[int, Hashable], JsonSchemaMode, TypeAdapter[Any]]] = []
    for index, op in enumerate(operations):
        if op.ok is not None:
            inputs.append(((index, 200), "serialization", TypeAdapter(op.ok)))
        if op.body is not None:
            inputs.append(((index, "body"), "validation", TypeAdapter(op.body)))
        if op.query is not None:
            inputs.append(((index, "query"), "validation", TypeAdapter(op.query)))
        if op.path_params is not None:
            inputs.append(((index, "path"), "validation", TypeAdapter(op.path_params)))
        for status, body in _error_bodies(op).items():
            inputs.append(((index, status), "serialization", TypeAdapter(body)))
    found, top = TypeAdapter.json_schemas(inputs, ref_template=_REF, schema_generator=_Schemas)
    schemas = {key: schema for (key, _mode), schema in found.items()}
    components: dict[str, Any] = top.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    parameter_models = set()

    def parameters_of(index: int, where: str) -> dict[str, Any]:
        if (index, where) not in schemas:
            return {}
        name = schemas[index, where]["$ref"].rsplit("/", 1)[1]
        parameter_models.add(name)
        model: dict[str, Any] = components[name]
        return model

    for index, op in enumerate(operations):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(
            op, schemas, index, parameters_of(index, "path"), parameters_of(index, "query")
        )
    # path and query models are written out as parameters, not kept as schemas of their own
    for name in parameter_models:
        del components[name]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Eldercare dispatcher",
            "version": "1",
            "description": "One-touch emergency dispatch: alarms, terminals, residents. "
            "Every /api/ path but /api/login needs a bearer token or the dashboard's "
            "session cookie (then an X-CSRF-Token header on POST and PUT). A refused query "
            "answers 400 and a refused body 422, each with `errors` naming every field.",
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "dispatcher_session"},
            },
        },
    }


async def serve(request: web.Request) -> dict[str, Any]:
    operations: tuple[Operation, ...] = request.app[OPERATIONS]
    return description(operations)
