"""Who may see what: no session means 401 on every `/api/` path and the login page for
every page; an operator gets 403 on admin pages and APIs; cookies need CSRF tokens;
every /api/ answer is kept by no cache (the rate limit of failed logins:
`test_login_backoff.py`)."""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatcher.config import Settings
from dispatcher.users.accounts import Role
from dispatcher.web.pages import PAGES
from tests.web.helpers import bearer, form_login, page_csrf, web_only

SettingsFor = Callable[..., Settings]
Client = TestClient[web.Request, web.Application]


def api_routes(app: web.Application) -> list[tuple[str, str]]:
    """Every (method, concrete path) the app serves under /api/, path parameters filled."""
    found = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/") and route.method != "*":
            found.append((route.method, re.sub(r"\{[^}]+\}", "1", path)))
    return sorted(set(found))


async def test_without_a_session_every_api_path_is_401_and_every_page_goes_to_login(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(sqlite_url)) as w:
        routes = api_routes(w.app)
        assert len(routes) >= 20
        for method, path in routes:
            if path in {"/api/login", "/api/openapi.json"}:  # no data in either
                continue
            async with w.client.request(method, path) as response:
                assert response.status == 401, (method, path)
        for page in PAGES:
            async with w.client.get(page.example, allow_redirects=False) as response:
                assert response.status == 302, page.path
                assert response.headers["Location"].startswith("/login?next=")
        async with w.client.get("/login") as response:
            assert response.status == 200
            assert "登录" in await response.text()


async def test_an_operator_gets_403_on_admin_pages_and_apis(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(sqlite_url)) as w:
        await w.add_user("op1", Role.OPERATOR)
        assert await form_login(w.client, "op1") == 303
        csrf = await page_csrf(w.client)
        for page in PAGES:
            async with w.client.get(page.example, allow_redirects=False) as response:
                expected = 200 if page.role is Role.OPERATOR else 403
                assert response.status == expected, page.path
        for path, body in (
            ("/api/residents/r-0001", {"name": "x"}),
            ("/api/communities/kangqiao/workers", {"workers": []}),
        ):
            async with w.client.put(path, json=body, headers={"X-CSRF-Token": csrf}) as response:
                assert response.status == 403, path
        # and the same with a bearer token instead of the cookie
        token = await bearer(w.client, "op1")
        w.client.session.cookie_jar.clear()
        async with w.client.put(
            "/api/residents/r-0001", json={}, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 403
        async with w.client.get(
            "/api/me", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert await response.json() == {"username": "op1", "role": "operator", "scope": None}


async def test_a_cookie_session_needs_the_csrf_token_to_change_anything(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(sqlite_url)) as w:
        await w.add_user("op1", Role.OPERATOR)
        assert await form_login(w.client, "op1") == 303
        csrf = await page_csrf(w.client)
        async with w.client.get("/api/me") as response:
            assert response.status == 200
        note = {"note": "hello"}
        async with w.client.post("/api/alarms/1/notes", json=note) as response:
            assert response.status == 403  # no token
        evil = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
        async with w.client.post("/api/alarms/1/notes", json=note, headers=evil) as response:
            assert response.status == 403  # another site
        ok = {"X-CSRF-Token": csrf}
        async with w.client.post("/api/alarms/1/notes", json=note, headers=ok) as response:
            assert response.status == 404  # through: there is no alarm 1
        # the login form itself refuses a post that did not come from its page
        async with w.client.post(
            "/login", data={"username": "op1", "password": "password-123", "csrf": "forged"}
        ) as response:
            assert response.status == 403
        # logging out ends the session on the server
        async with w.client.post("/logout", data={"csrf": csrf}, allow_redirects=False) as response:
            assert response.status == 303
        async with w.client.get("/api/me") as response:
            assert response.status == 401


async def test_pages_are_not_framed_and_run_only_our_scripts(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(sqlite_url)) as w:
        await w.add_user("op1", Role.OPERATOR)
        await form_login(w.client, "op1")
        async with w.client.get("/queue") as response:
            assert response.headers["X-Frame-Options"] == "DENY"
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert '<html lang="zh-CN">' in await response.text()
        async with w.client.get("/lang/en?next=/queue", allow_redirects=False) as response:
            assert response.headers["Location"] == "/queue"
        async with w.client.get("/queue") as response:
            assert '<html lang="en">' in await response.text()
        async with w.client.get("/lang/en?next=//evil.example/", allow_redirects=False) as r:
            assert r.headers["Location"] == "/queue"  # never sent on to another site


async def test_api_answers_are_never_cached(sqlite_url: str, settings_for: SettingsFor) -> None:
    async with web_only(settings_for(sqlite_url)) as w:
        await w.add_user("op1", Role.OPERATOR)
        headers = {"Authorization": f"Bearer {await bearer(w.client, 'op1')}"}
        for path, status in (
            ("/api/me", 200),
            ("/api/queue", 200),
            ("/api/alarms/1", 404),
            ("/api/alarms?limit=x", 400),
        ):
            async with w.client.get(path, headers=headers) as response:
                assert response.status == status, path
                assert response.headers["Cache-Control"] == "no-store", path
        async with w.client.get("/api/me") as response:
            assert response.status == 401
            assert response.headers["Cache-Control"] == "no-store"
