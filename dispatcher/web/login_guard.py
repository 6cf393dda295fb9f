"""Logging in, for the API and the login form alike, with failed attempts counted in
the database (`dispatcher.users.login_failures`) and slowed down by
`dispatcher.rules.login_backoff` (which says why it is built so): past a few failures of
one user from one address, or many from one address, the next attempt waits (429 with
Retry-After) and the refusal is logged; an attempt with the user's device token is
counted apart, and a user who logged in from the address before passes its limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from dispatcher.rules import login_backoff
from dispatcher.users import accounts as users
from dispatcher.users import login_failures, login_trust
from dispatcher.web.state import DEPS

log = logging.getLogger("dispatcher.web.login")


@dataclass(frozen=True, slots=True)
class Throttled:
    wait_s: float


@dataclass(frozen=True, slots=True)
class LoggedIn:
    token: str
    device: str
    """The device token to send with the next login (a cookie, or `device` in the body)."""


async def log_in(
    request: web.Request, username: str, password: str, device: str | None = None
) -> LoggedIn | Throttled | None:
    """A new token for good credentials; `Throttled` while attempts of this kind must
    wait; None when they are wrong (or the user is disabled)."""
    deps = request.app[DEPS]
    address = request.remote
    device = device if device and len(device) <= login_trust.TOKEN_MAX else None
    # counted before the password is checked, so that guesses sent at once all count
    async with deps.sessions.begin() as session:
        now = deps.clock.now()
        trusted = device is not None and await login_trust.device_of(
            session=session, token=device, username=username, now=now
        )
        if trusted and device is not None:
            keyed = login_failures.device_keys(device)
            known = False
        else:
            keyed = login_failures.keys(username, address)
            last = await login_trust.last_here(session=session, username=username, address=address)
            known = login_backoff.known_here(last, now)
        found = await login_failures.counts(session=session, keyed=keyed, now=now)
        wait = login_backoff.retry_after(found, now, known_here=known)
        if wait is None:
            await login_failures.count_attempt(session=session, keyed=keyed, now=now)
    how = "with its device token" if trusted else "known here" if known else "untrusted"
    if wait is not None:
        deps.metrics.logins.labels("throttled").inc()
        log.warning(
            "login refused for %r from %s (%s): too many failures, %.0f s to wait",
            username,
            address,
            how,
            wait,
        )
        return Throttled(wait)
    async with deps.sessions.begin() as session:
        now = deps.clock.now()
        token = await users.login(
            session=session,
            username=username,
            password=password,
            now=now,
            ttl_s=deps.settings.http.token_ttl_s,
        )
        if token is not None:
            await login_failures.succeeded(session=session, keyed=keyed)
            device = await login_trust.remember(
                session=session,
                username=username,
                address=address,
                device=device if trusted else None,
                now=now,
            )
    deps.metrics.logins.labels("failed" if token is None else "ok").inc()
    if token is None or device is None:
        log.warning("failed login for %r from %s (%s)", username, address, how)
        return None
    log.info("%s logged in from %s (%s)", username, address, how)
    return LoggedIn(token, device)
