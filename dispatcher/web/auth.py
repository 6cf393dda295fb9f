"""Who is calling `/api/`: a bearer token or the dashboard's session cookie; 401 without
a valid one. (What each role may do is in the operations of `dispatcher.web.routes`.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.store.scoping import scoped
from dispatcher.users import accounts as users
from dispatcher.web import session as cookie_session
from dispatcher.web.errors import json_error
from dispatcher.web.state import DEPS

PRINCIPAL = web.RequestKey("principal", users.Principal)
# the token the caller proved itself with (bearer or session cookie): what keeps a live
# socket open is that this token still is valid
TOKEN = web.RequestKey("token", str)
# the description of the API holds no data: a client reads it before it has a login
_PUBLIC = {"/api/login", "/api/openapi.json"}

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
            request[TOKEN] = request.cookies[cookie_session.COOKIE]
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
    request[TOKEN] = token.strip()
    return await handler(request)


def principal(request: web.Request) -> users.Principal:
    return request[PRINCIPAL]


def sessions_of(request: web.Request) -> async_sessionmaker[AsyncSession]:
    """Sessions that see what the caller may: the part of the city of their scope
    (`dispatcher.store.scoping`), or the whole city."""
    return scoped(request.app[DEPS].sessions, principal(request).communities)
