"""Check form-encoded requests against Twilio's OpenAPI description of API v2010.

Only the two operations the service uses are covered: creating a Message and a Call.
The checks follow the `application/x-www-form-urlencoded` request schema: required
fields, no unknown fields, types, enums, lengths, patterns and the formats Twilio names
(uri, phone-number, endpoint, twiml, date-time). What Twilio adds beyond the schema (a
body or a From is needed, and so on) lives in the stand-in, not here.
"""

from __future__ import annotations

import functools
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
CALLS = "/2010-04-01/Accounts/{AccountSid}/Calls.json"
OPERATIONS = (MESSAGES, CALLS)

_SPEC_FILE = "twilio_api_v2010.json"
_FORM = "application/x-www-form-urlencoded"
_TWIML_MAX = 4000  # the Twiml parameter's documented limit

_E164 = re.compile(r"\+[1-9]\d{1,14}")
_CHANNEL = re.compile(r"[a-z]+:\S+")  # whatsapp:+8613..., messenger:..., rcs:...
_SHORT_CODE = re.compile(r"\d{3,8}")
_ALPHA_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_SIP_OR_CLIENT = re.compile(r"(sip:\S+@\S+|client:[A-Za-z0-9_.-]+)")
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Problem:
    """One way a request breaks the spec; `field` is "" for the request as a whole."""

    field: str
    kind: str  # missing, unknown, repeated, type, enum, format, pattern, length, path
    message: str

    def __str__(self) -> str:
        return self.message


@functools.cache
def load_spec() -> dict[str, Any]:
    """Twilio's OpenAPI document, read once from the package data."""
    text = resources.files("simulators.twilio").joinpath(_SPEC_FILE).read_text("utf-8")
    spec: dict[str, Any] = json.loads(text)
    return spec


def _resolve(schema: Mapping[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return dict(schema)
    node: Any = load_spec()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return _resolve(node)


@functools.cache
def form_schema(operation: str) -> dict[str, Any]:
    """The resolved request-body schema of the `post` of one of `OPERATIONS`."""
    post = load_spec()["paths"][operation]["post"]
    return _resolve(post["requestBody"]["content"][_FORM]["schema"])


@functools.cache
def _path_parameters(operation: str) -> dict[str, dict[str, Any]]:
    params = load_spec()["paths"][operation]["post"]["parameters"]
    return {p["name"]: _resolve(p["schema"]) for p in params if p["in"] == "path"}


def match_operation(path: str) -> tuple[str, dict[str, str]] | None:
    """Which operation a request path is, with its path parameters; None if neither."""
    for operation in OPERATIONS:
        pattern = re.escape(operation).replace(r"\{AccountSid\}", "(?P<AccountSid>[^/]+)")
        found = re.fullmatch(pattern, path)
        if found:
            return operation, found.groupdict()
    return None


def parse_form(body: str) -> list[tuple[str, str]]:
    """Name-value pairs of a form body, repeats kept (arrays are repeated fields)."""
    return parse_qsl(body, keep_blank_values=True)


def validate_request(path: str, form: Iterable[tuple[str, str]]) -> list[Problem]:
    """Problems of a POST to `path` with `form`; an empty list means Twilio's spec accepts it."""
    matched = match_operation(path)
    if matched is None:
        return [Problem("", "path", f"{path} is neither Messages.json nor Calls.json")]
    operation, path_values = matched
    problems: list[Problem] = []
    for name, schema in _path_parameters(operation).items():
        value = path_values[name]
        error = _check_value(schema, value)
        if error:
            text = error.partition(": ")[2]
            problems.append(Problem(name, "path", f"path parameter {name}={value!r}: {text}"))
    return problems + validate_form(operation, form)


def validate_form(operation: str, form: Iterable[tuple[str, str]]) -> list[Problem]:
    """Problems of `form` against the request body of one of `OPERATIONS`."""
    schema = form_schema(operation)
    properties: dict[str, Any] = schema.get("properties", {})
    values: dict[str, list[str]] = {}
    for name, value in form:
        values.setdefault(name, []).append(value)
    problems = [
        Problem(name, "missing", f"{name} is required")
        for name in schema.get("required", [])
        if name not in values
    ]
    for name, given in values.items():
        if name not in properties:
            problems.append(
                Problem(name, "unknown", f"{name} is not a parameter of this operation")
            )
            continue
        field = _resolve(properties[name])
        if field.get("type") == "array":
            items = _resolve(field.get("items", {}))
        elif len(given) > 1:
            problems.append(Problem(name, "repeated", f"{name} is given {len(given)} times"))
            continue
        else:
            items = field
        for value in given:
            error = _check_value(items, value)
            if error:
                kind, _, text = error.partition(": ")
                problems.append(Problem(name, kind, f"{name}={value!r}: {text}"))
    return problems


def _check_value(schema: Mapping[str, Any], value: str) -> str | None:
    """'kind: reason' if one form value breaks its (resolved) schema, else None."""
    kind = schema.get("type", "string")
    if kind == "integer" and not _INTEGER.fullmatch(value):
        return "type: not an integer"
    if kind == "number" and not _is_number(value):
        return "type: not a number"
    if kind == "boolean" and value.lower() not in {"true", "false"}:
        return "type: not true or false"
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        return f"enum: not one of {', '.join(map(str, enum))}"
    if "minLength" in schema and len(value) < schema["minLength"]:
        return f"length: shorter than {schema['minLength']}"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"length: longer than {schema['maxLength']}"
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return f"pattern: does not match {schema['pattern']}"
    if schema.get("x-twilio", {}).get("ignoreFormat"):
        return None
    check = _FORMATS.get(schema.get("format", ""))
    if check is not None and not check(value):
        return f"format: not a valid {schema['format']}"
    return None


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _is_uri(value: str) -> bool:
    # Twilio: "URL must contain a valid hostname and underscores are not allowed"
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    host = parts.hostname or ""
    return (
        parts.scheme in {"http", "https"}
        and bool(host)
        and "_" not in host
        and not any(c.isspace() for c in value)
    )


def _is_phone_number(value: str) -> bool:
    # E.164, a channel address, or (as a sender) a short code or alphanumeric sender ID
    return any(p.fullmatch(value) for p in (_E164, _CHANNEL, _SHORT_CODE, _ALPHA_SENDER))


def _is_endpoint(value: str) -> bool:
    return bool(_E164.fullmatch(value) or _SIP_OR_CLIENT.fullmatch(value))


def _is_twiml(value: str) -> bool:
    if len(value) > _TWIML_MAX:
        return False
    try:
        # the stand-in reads TwiML only from the service under test, never from strangers
        root = ET.fromstring(value)  # noqa: S314
    except ET.ParseError:
        return False
    return root.tag == "Response"


def _is_date_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_FORMATS = {
    "uri": _is_uri,
    "phone-number": _is_phone_number,
    "endpoint": _is_endpoint,
    "twiml": _is_twiml,
    "date-time": _is_date_time,
}
