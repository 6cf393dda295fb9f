"""Logging in over the API (`POST /api/login`, guarded by `login_guard`) and who is
logged in (`GET /api/me`)."""

from __future__ import annotations

from aiohttp import web

from dispatcher.store import users
from dispatcher.web.auth import principal
from dispatcher.web.errors import json_error
from dispatcher.web.operations import given
from dispatcher.web.schemas.auth import Login
from dispatcher.web.state import DEPS


async def login(request: web.Request) -> web.Response | dict[str, str]:
    sent = given(request, Login)
    username, password = sent.username, sent.password
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
    return {"token": token}


async def me(request: web.Request) -> dict[str, str]:
    who = principal(request)
    return {"username": who.username, "role": who.role.value}
