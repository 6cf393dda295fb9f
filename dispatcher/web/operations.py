"""The API's operations as data: each route with the models of what it takes and what it
answers, the role it needs and the errors it may give. One table of them
(`dispatcher.web.routes.API`) serves the app, checks what clients send and writes the
description (`dispatcher.web.openapi`), so the three cannot drift apart.

What a handler is given has been checked already: the path's parameters against
`path_params` (404 when they name nothing that could exist), the query against `query`
(400 when wrong), the body against `body` (422 when wrong), the caller's role against
`role` (403). It reads them with `given(request, Model)`. What it returns, unless a
response of its own (an error, a WebSocket, text), is checked against `ok` and written
as JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from dispatcher.users.accounts import Role
from dispatcher.web.auth import principal
from dispatcher.web.errors import field_name, json_error, problems
from dispatcher.web.schemas.base import Answer, Path

JSON: Final = "application/json"

# a response of the handler's own, or the data of a 200 JSON answer (checked against `ok`)
Reply = web.StreamResponse | Mapping[str, Any] | Sequence[Any]
Handler = Callable[[web.Request], Awaitable[Reply]]

M = TypeVar("M")

# what the models made of the request, by the model's type (`dict` for `body_rules`)
_GIVEN: Final = web.RequestKey("given", dict[type, object])
_OBJECT: Final = TypeAdapter(dict[str, Any])


@dataclass(frozen=True, kw_only=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    ok: Any = None
    """The type of a 200 answer's body (a model, `list[Model]`); None when there is none."""
    content: str = JSON
    """The media type of a 200 answer; not JSON means the handler writes it itself."""
    path_params: type[Path] | None = None
    """The parameters of `path`; every route with one has it."""
    bad_path: int = 404
    """The answer to path parameters the model refuses: nothing such can exist (404), or
    for a PUT that would create it, a bad id (400)."""
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_rules: str | None = None
    """Set when other rules check the body (named here, for the description): then
    `body` only describes it, and the handler is given the JSON object as a dict."""
    role: Role | None = None
    """The least role allowed; None: any user of the dashboard (operator and up)."""
    wallboard: bool = False
    """The wallboard's screen (role `wallboard`, which sees the wall alone) may call it."""
    public: bool = False
    """No login needed."""
    errors: tuple[int, ...] = ()
    """Error statuses beside the ones every operation of its kind has (401, 403 when
    not public, 400 with a query, 422 with a body)."""
    error_bodies: Mapping[int, Any] = field(default_factory=dict)
    """Error statuses whose body is not `Error` (nor `Invalid` for the 400 of a query or
    the 422 of a body), with its type."""
    other_answers: Mapping[int, str] = field(default_factory=dict)
    """Answers without a body, by status: what they mean (101 for a WebSocket)."""

    def serve(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The aiohttp handler: checks role, query and body, calls ours, checks its answer."""
        ok = TypeAdapter(self.ok) if self.ok is not None and self.content == JSON else None
        body: TypeAdapter[Any] | None = None
        if self.body is not None:
            body = _OBJECT if self.body_rules else TypeAdapter(self.body)

        async def serve(request: web.Request) -> web.StreamResponse:
            least = self.role or Role.OPERATOR
            if not self.public and not principal(request).role.may(least, wallboard=self.wallboard):
                return json_error(403, f"needs the {least.value} role")
            found: dict[type, object] = {}
            request[_GIVEN] = found
            if self.path_params is not None:
                try:
                    params = self.path_params.model_validate(dict(request.match_info))
                except ValidationError as exc:
                    return json_error(self.bad_path, _path_refused(exc))
                found[self.path_params] = params
            if self.query is not None:
                try:
                    found[self.query] = self.query.model_validate(_first_values(request))
                except ValidationError as exc:
                    return problems(400, exc)
            if body is not None:
                try:
                    value = body.validate_json(await request.read())
                except ValidationError as exc:
                    return problems(422, exc)
                found[type(value)] = value
            reply = await self.handler(request)
            if isinstance(reply, web.StreamResponse):
                return reply
            if ok is None:
                raise TypeError(f"{self.method} {self.path} has no JSON answer to give")
            return web.Response(
                body=ok.dump_json(ok.validate_python(reply), exclude_unset=True),
                content_type=JSON,
            )

        return serve


def _path_refused(exc: ValidationError) -> str:
    return "; ".join(f"bad {field_name(e['loc'])}: {e['msg']}" for e in exc.errors())


def _first_values(request: web.Request) -> dict[str, str]:
    # a parameter given twice counts once, the first time, as `request.query.get` has it
    return {key: request.query[key] for key in request.query}


def given(request: web.Request, kind: type[M]) -> M:
    """What the operation's path, query or body model made of the request."""
    value = request[_GIVEN].get(kind)
    if not isinstance(value, kind):
        raise TypeError(f"the route gives no {kind.__name__}")
    return value


def answer(model: Answer, status: int) -> web.Response:
    """A model as an answer with another status than 200 (a body of `error_bodies`)."""
    return web.Response(
        body=model.model_dump_json(exclude_unset=True), status=status, content_type=JSON
    )


OPERATIONS: Final[web.AppKey[tuple[Operation, ...]]] = web.AppKey("operations")
