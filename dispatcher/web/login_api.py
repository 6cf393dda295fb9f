"""Logging in over the API (`POST /api/login`, through `login_guard`) and who is logged
in (`GET /api/me`)."""

from __future__ import annotations

import math

from aiohttp import web

from dispatcher.web.auth import principal
from dispatcher.web.errors import json_error
from dispatcher.web.login_guard import Throttled, log_in
from dispatcher.web.operations import given
from dispatcher.web.schemas.auth import Login


async def login(request: web.Request) -> web.Response | dict[str, str]:
    sent = given(request, Login)
    token = await log_in(request, sent.username, sent.password)
    if isinstance(token, Throttled):
        return json_error(
            429,
            "too many failed logins; try again later",
            headers={"Retry-After": f"{math.ceil(token.wait_s)}"},
        )
    if token is None:
        return json_error(401, "wrong username or password")
    return {"token": token}


async def me(request: web.Request) -> dict[str, str]:
    who = principal(request)
    return {"username": who.username, "role": who.role.value}
