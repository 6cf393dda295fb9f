"""Bearer tokens for `/api/`: 401 without a valid one, 403 for a role without the right."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from aiohttp import web

from dispatcher.store import users
from dispatcher.web import session as cookie_session
from dispatcher.web.errors import json_error
from dispatcher.web.state import DEPS

PRINCIPAL = web.RequestKey("principal", users.Principal)
_PUBLIC = {"/api/login"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/") or request.path in _PUBLIC:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    if not header:
        # a dashboard page: the session cookie (CSRF-checked in dispatcher.web.session)
        by_cookie = await cookie_session.api_principal(request)
        if by_cookie is not None:
            request[PRINCIPAL] = by_cookie
            return await handler(request)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return json_error(401, "login required", headers={"WWW-Authenticate": "Bearer"})
    deps = request.app[DEPS]
    async with deps.sessions() as session:
        principal = await users.principal_for_token(
            session=session, token=token.strip(), now=deps.clock.now()
        )
    if principal is None:
        return json_error(401, "invalid or expired token", headers={"WWW-Authenticate": "Bearer"})
    request[PRINCIPAL] = principal
    return await handler(request)


def principal(request: web.Request) -> users.Principal:
    return request[PRINCIPAL]


def requires(role: users.Role) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            if not principal(request).role.at_least(role):
                return json_error(403, f"needs the {role.value} role")
            return await handler(request)

        return checked

    return decorate


async def login(request: web.Request) -> web.Response:
    body = await read_json(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return json_error(400, "username and password are required strings")
    deps = request.app[DEPS]
    async with deps.sessions.begin() as session:
        token = await users.login(
            session=session,
            username=username,
            password=password,
            now=deps.clock.now(),
            ttl_s=deps.settings.http.token_ttl_s,
        )
    if token is None:
        request.app.logger.warning("failed login for %r from %s", username, request.remote)
        return json_error(401, "wrong username or password")
    return web.json_response({"token": token})


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "body must be JSON"}', content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        )
    return body


async def me(request: web.Request) -> web.Response:
    who = principal(request)
    return web.json_response({"username": who.username, "role": who.role.value})
