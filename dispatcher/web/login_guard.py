"""Logging in, for the API and the login form alike, with failed attempts counted in
the database (`dispatcher.users.login_failures`) and slowed down by
`dispatcher.rules.login_backoff`: past a few failures of one user from one address, or
many from one address, the next attempt waits (429 with Retry-After), whatever the
password, and the refusal is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from dispatcher.rules.login_backoff import retry_after
from dispatcher.users import accounts as users
from dispatcher.users import login_failures
from dispatcher.web.state import DEPS

log = logging.getLogger("dispatcher.web.login")


@dataclass(frozen=True, slots=True)
class Throttled:
    wait_s: float


async def log_in(request: web.Request, username: str, password: str) -> str | Throttled | None:
    """A new token for good credentials; `Throttled` while attempts from this address
    for this user (or from this address at all) must wait; None when they are wrong."""
    deps = request.app[DEPS]
    address = request.remote
    keyed = login_failures.keys(username, address)
    # counted before the password is checked, so that guesses sent at once all count
    async with deps.sessions.begin() as session:
        now = deps.clock.now()
        found = await login_failures.counts(session=session, keyed=keyed, now=now)
        wait = retry_after(found, now)
        if wait is None:
            await login_failures.count_attempt(session=session, keyed=keyed, now=now)
    if wait is not None:
        deps.metrics.logins.labels("throttled").inc()
        log.warning(
            "login refused for %r from %s: too many failures, %.0f s to wait",
            username,
            address,
            wait,
        )
        return Throttled(wait)
    async with deps.sessions.begin() as session:
        token = await users.login(
            session=session,
            username=username,
            password=password,
            now=deps.clock.now(),
            ttl_s=deps.settings.http.token_ttl_s,
        )
        if token is not None:
            await login_failures.succeeded(session=session, keyed=keyed)
    deps.metrics.logins.labels("failed" if token is None else "ok").inc()
    if token is None:
        log.warning("failed login for %r from %s", username, address)
    else:
        log.info("%s logged in from %s", username, address)
    return token
