"""The JSON error bodies of the API (`dispatcher.web.schemas.base`): one message, and for
a refused query or body every problem with the field it is about."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from dispatcher.web.schemas.base import Error, FieldProblem, Invalid


def json_error(status: int, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=Error(error=message).model_dump_json(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def field_name(loc: tuple[int | str, ...]) -> str:
    """`contacts[1].phone` for pydantic's ("contacts", 1, "phone"); empty for the whole."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else part
    return name


def invalid(status: int, found: list[FieldProblem]) -> web.Response:
    summary = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in found)
    return web.Response(
        body=Invalid(error=summary, errors=found).model_dump_json(),
        status=status,
        content_type="application/json",
    )


def problems(status: int, exc: ValidationError) -> web.Response:
    """A query (400) or body (422) that its model refused, with every problem."""
    return invalid(
        status,
        [FieldProblem(field=field_name(e["loc"]), message=e["msg"]) for e in exc.errors()],
    )
