"""The web app alone on a real database (no broker, engine or notifier), and logging
in as a browser does: the login form, the session cookie, the page's CSRF token."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import Clock, SystemClock
from dispatcher.config import Settings
from dispatcher.metrics import Metrics
from dispatcher.store.db import create_engine, session_factory
from dispatcher.users import accounts as users
from dispatcher.web.app import init_app
from dispatcher.web.state import WebDeps

PASSWORD = "password-123"
_HIDDEN_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_META_CSRF = re.compile(r'<meta name="csrf" content="([^"]+)">')


@dataclass
class WebOnly:
    client: TestClient[web.Request, web.Application]
    sessions: async_sessionmaker[AsyncSession]
    app: web.Application
    clock: Clock

    async def add_user(self, name: str, role: users.Role) -> None:
        async with self.sessions.begin() as session:
            await users.add_or_update_user(
                session=session, username=name, role=role, password=PASSWORD, now=self.clock.now()
            )


@contextlib.asynccontextmanager
async def web_only(
    settings: Settings, clock: Clock | None = None, *, broker_ok: bool = True
) -> AsyncIterator[WebOnly]:
    engine = create_engine(settings.database.url)
    sessions = session_factory(engine)
    deps = WebDeps(
        settings=settings,
        sessions=sessions,
        clock=clock or SystemClock(),
        metrics=Metrics(),
        broker_ok=lambda: broker_ok,
    )
    app = init_app(deps)
    try:
        async with TestClient(TestServer(app)) as client:
            yield WebOnly(client, sessions, app, deps.clock)
    finally:
        await engine.dispose()


async def form_login(
    client: TestClient[web.Request, web.Application],
    username: str,
    password: str = PASSWORD,
    *,
    headers: dict[str, str] | None = None,
) -> int:
    """Log in through the login form; the session cookie stays in the client's jar.
    Returns the status of the form's answer (303 on success)."""
    async with client.get("/login", headers=headers) as page:
        found = _HIDDEN_CSRF.search(await page.text())
    assert found is not None
    async with client.post(
        "/login",
        data={"username": username, "password": password, "csrf": found[1], "next": "/queue"},
        headers=headers,
        allow_redirects=False,
    ) as response:
        return response.status


async def page_csrf(client: TestClient[web.Request, web.Application]) -> str:
    """The CSRF token a logged-in page carries for its scripts."""
    async with client.get("/queue") as page:
        assert page.status == 200, await page.text()
        found = _META_CSRF.search(await page.text())
    assert found is not None
    return found[1]


async def bearer(client: TestClient[web.Request, web.Application], username: str) -> str:
    async with client.post(
        "/api/login", json={"username": username, "password": PASSWORD}
    ) as response:
        assert response.status == 200, await response.text()
        token: str = (await response.json())["token"]
    return token
