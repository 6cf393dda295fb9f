"""Logging in and out over the API (`POST /api/login`, through `login_guard`; `POST
/api/logout`) and who is logged in (`GET /api/me`)."""

from __future__ import annotations

import logging
import math

from aiohttp import web

from dispatcher.users import accounts as users
from dispatcher.web import live_hub
from dispatcher.web import session as cookie_session
from dispatcher.web.auth import TOKEN, principal
from dispatcher.web.errors import json_error
from dispatcher.web.login_guard import Throttled, log_in
from dispatcher.web.operations import given
from dispatcher.web.schemas.auth import Login
from dispatcher.web.state import DEPS

log = logging.getLogger("dispatcher.web.login")


async def login(request: web.Request) -> web.Response | dict[str, str]:
    sent = given(request, Login)
    token = await log_in(request, sent.username, sent.password, sent.device)
    if isinstance(token, Throttled):
        return json_error(
            429,
            "too many failed logins; try again later",
            headers={"Retry-After": f"{math.ceil(token.wait_s)}"},
        )
    if token is None:
        return json_error(401, "wrong username or password")
    return {"token": token.token, "device": token.device}


async def me(request: web.Request) -> dict[str, str | None]:
    who = principal(request)
    scope = None if who.scope is None else str(who.scope)
    return {"username": who.username, "role": who.role.value, "scope": scope}


async def logout(request: web.Request) -> web.Response:
    """The calling token (bearer or session cookie) ends at once, and the live sockets
    opened with it close."""
    deps = request.app[DEPS]
    async with deps.sessions.begin() as session:
        await users.revoke_token(session=session, token=request[TOKEN])
    log.info("%s logged out", principal(request).username)
    live_hub.session_ended(request.app)
    response = web.Response(status=204)
    if "Authorization" not in request.headers:
        cookie_session.end(response)
    return response
