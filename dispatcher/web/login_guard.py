"""Failed logins are counted per username and per address; past the limit, login is
refused for a while (429) whatever the password, and the refusal is logged.

Counted in this process's memory: a restart forgets, and N processes allow N times the
attempts. That still turns password guessing from thousands a minute into a handful.
"""

from __future__ import annotations

import collections
import logging
from datetime import datetime, timedelta
from typing import Final

from aiohttp import web

from dispatcher.clock import Clock
from dispatcher.web.auth import Handler
from dispatcher.web.errors import json_error
from dispatcher.web.state import DEPS

log = logging.getLogger("dispatcher.web.login")

PER_USER: Final = 5
PER_ADDRESS: Final = 20
WINDOW_S: Final = 900
_MAX_KEYS: Final = 10_000  # bounded memory under a spray of usernames


class LoginGuard:
    def __init__(
        self,
        clock: Clock,
        *,
        per_user: int = PER_USER,
        per_address: int = PER_ADDRESS,
        window_s: int = WINDOW_S,
    ) -> None:
        self._clock = clock
        self._limits = {"user": per_user, "addr": per_address}
        self._window = timedelta(seconds=window_s)
        self._failures: collections.OrderedDict[str, list[datetime]] = collections.OrderedDict()

    @staticmethod
    def _keys(username: str, address: str | None) -> list[str]:
        return [f"user:{username.strip().lower()}", f"addr:{address or '?'}"]

    def _recent(self, key: str, now: datetime) -> list[datetime]:
        kept = [t for t in self._failures.get(key, []) if now - t < self._window]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def retry_after(self, username: str, address: str | None) -> float | None:
        """Seconds until another attempt is allowed, or None if it is allowed now."""
        now = self._clock.now()
        waits = []
        for key in self._keys(username, address):
            recent = self._recent(key, now)
            if len(recent) >= self._limits[key.split(":", 1)[0]]:
                waits.append((recent[0] + self._window - now).total_seconds())
        return max(waits) if waits else None

    def failed(self, username: str, address: str | None) -> None:
        now = self._clock.now()
        for key in self._keys(username, address):
            self._failures.setdefault(key, []).append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > _MAX_KEYS:
            self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        self._failures.pop(self._keys(username, None)[0], None)


GUARD = web.AppKey("login_guard", LoginGuard)


def refused(request: web.Request, username: str, wait_s: float) -> None:
    request.app[DEPS].metrics.logins.labels("throttled").inc()
    log.warning(
        "login refused for %r from %s: too many failures, %.0f s to wait",
        username,
        request.remote,
        wait_s,
    )


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Guards `POST /api/login`; the login page's form asks the guard itself."""
    if request.method != "POST" or request.path != "/api/login":
        return await handler(request)
    try:
        body = await request.json()
    except ValueError:
        body = None
    username = body.get("username") if isinstance(body, dict) else None
    if not isinstance(username, str):
        return await handler(request)
    guard = request.app[GUARD]
    wait = guard.retry_after(username, request.remote)
    if wait is not None:
        refused(request, username, wait)
        return json_error(
            429, "too many failed logins; try again later", headers={"Retry-After": f"{wait:.0f}"}
        )
    response = await handler(request)
    if response.status == 401:
        guard.failed(username, request.remote)
        request.app[DEPS].metrics.logins.labels("failed").inc()
    elif response.status == 200:
        guard.succeeded(username)
        request.app[DEPS].metrics.logins.labels("ok").inc()
    return response
