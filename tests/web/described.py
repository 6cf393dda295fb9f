"""Reading the API's description in tests: the schema of an answer or a body, and
checking a JSON value against it as a client generated from the description would."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator

Spec = dict[str, Any]


def resolve(spec: Spec, schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its top `$ref` into `components` followed."""
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def answer_schema(spec: Spec, method: str, path: str, status: int) -> dict[str, Any]:
    response = spec["paths"][path][method]["responses"][str(status)]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def problems_with(spec: Spec, schema: dict[str, Any], value: object) -> list[str]:
    """Where and why `value` breaks `schema` (with the description's components); none
    when it fits. Dates must be date-times with an offset."""
    validator = Draft202012Validator(
        {**schema, "components": spec["components"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in validator.iter_errors(value)
    ]


def open_objects(spec: Spec) -> list[str]:
    """Schemas of the description that have properties but let others through."""
    return [
        name
        for name, schema in spec["components"]["schemas"].items()
        if "properties" in schema and schema.get("additionalProperties") is not False
    ]


def fill(path: str, values: dict[str, str]) -> str:
    """A described path with its parameters filled in."""
    return re.sub(r"\{([^}]+)\}", lambda m: values[m[1]], path)
