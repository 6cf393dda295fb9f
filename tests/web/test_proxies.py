"""Behind a TLS reverse proxy: X-Forwarded-For and -Proto are believed only from
`http.trusted_proxies` (the client is the rightmost address that is not a proxy of
ours); `http.public_origin` is what the Origin checks compare with, and an https one
makes every cookie Secure."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest

from dispatcher.config import Settings
from dispatcher.users.accounts import Role
from dispatcher.web import session as cookie_session
from tests.web.helpers import PASSWORD, web_only

SettingsFor = Callable[..., Settings]


def failed_from(caplog: pytest.LogCaptureFixture) -> list[str]:
    found = (
        re.search(r"failed login for 'op1' from (\S+)", r.getMessage()) for r in caplog.records
    )
    return [m[1] for m in found if m]


async def test_forwarded_addresses_are_believed_only_from_our_proxies(
    sqlite_url: str, settings_for: SettingsFor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    wrong = {"username": "op1", "password": "wrong"}
    # nobody is trusted: a client cannot pass for another address
    async with (
        web_only(settings_for(sqlite_url)) as w,
        w.client.post(
            "/api/login", json=wrong, headers={"X-Forwarded-For": "198.51.100.1"}
        ) as response,
    ):
        assert response.status == 401
    trusted = {"http": {"trusted_proxies": ["127.0.0.1", "10.1.1.0/24"]}}
    async with web_only(settings_for(sqlite_url, **trusted)) as w:
        for chain in (
            "203.0.113.9",
            "203.0.113.9, 10.1.1.7",  # through two proxies of ours
            "6.6.6.6, 203.0.113.9",  # the client wrote the left part itself
            "not-an-address, 203.0.113.9",
            "10.1.1.5",  # only proxies: the leftmost of them
        ):
            async with w.client.post(
                "/api/login", json=wrong, headers={"X-Forwarded-For": chain}
            ) as response:
                assert response.status == 401
    assert failed_from(caplog) == [
        "127.0.0.1",
        "203.0.113.9",
        "203.0.113.9",
        "203.0.113.9",
        "203.0.113.9",
        "10.1.1.5",
    ]


async def _login_cookie(settings: Settings, headers: dict[str, str]) -> bool:
    """Whether the session cookie of a form login is marked Secure."""
    async with web_only(settings) as w:
        await w.add_user("op1", Role.OPERATOR)
        async with w.client.get("/login", headers=headers) as page:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
            # sent back by hand: the jar keeps a Secure cookie from plain http
            login_cookie = page.cookies[cookie_session.LOGIN_COOKIE].value
        assert csrf is not None
        form = {"username": "op1", "password": PASSWORD, "csrf": csrf[1], "next": "/queue"}
        sent = {**headers, "Cookie": f"{cookie_session.LOGIN_COOKIE}={login_cookie}"}
        async with w.client.post(
            "/login", data=form, headers=sent, allow_redirects=False
        ) as response:
            assert response.status == 303
            return bool(response.cookies[cookie_session.COOKIE]["secure"])


async def test_cookies_are_secure_behind_tls(sqlite_url: str, settings_for: SettingsFor) -> None:
    https = {"X-Forwarded-Proto": "https"}
    trusted = settings_for(sqlite_url, http={"trusted_proxies": ["127.0.0.1"]})
    assert await _login_cookie(trusted, https)
    assert not await _login_cookie(trusted, {})
    # a client's own X-Forwarded-Proto is not believed
    assert not await _login_cookie(settings_for(sqlite_url), https)
    public = settings_for(sqlite_url, http={"public_origin": "https://Dispatch.example/"})
    assert await _login_cookie(public, {})


async def test_the_origin_checks_compare_with_the_public_origin(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    settings = settings_for(sqlite_url, http={"public_origin": "https://dispatch.example"})
    async with web_only(settings) as w:
        await w.add_user("op1", Role.OPERATOR)
        async with w.client.post(
            "/api/login", json={"username": "op1", "password": PASSWORD}
        ) as response:
            token = (await response.json())["token"]
        csrf = cookie_session.csrf_token(token)
        cookie = {"Cookie": f"{cookie_session.COOKIE}={token}", "X-CSRF-Token": csrf}
        listener = f"http://{w.client.host}:{w.client.port}"
        for origin, status in (
            ("https://dispatch.example", 404),  # through: there is no alarm 1
            (listener, 403),  # the proxy's backend address is not where pages come from
            ("http://dispatch.example", 403),
            ("https://evil.example", 403),
        ):
            async with w.client.post(
                "/api/alarms/1/notes", json={"note": "x"}, headers={**cookie, "Origin": origin}
            ) as response:
                assert response.status == status, origin
        async with w.client.get("/api/live", headers={**cookie, "Origin": listener}) as response:
            assert response.status == 403
