"""Accounts (docs/api.md): `POST /api/logout` ends the calling token or session at
once; a user disabled by `dispatcher user disable` loses every token, session and live
socket at once (the sockets within the follower's one-second look, whatever process
disabled them), cannot log in until enabled again. On both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import pytest

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.users import commands as user_command
from dispatcher.users.accounts import Role
from tests.web.helpers import bearer, form_login, page_csrf, web_only
from tests.web.test_live import closed, next_message

SettingsFor = Callable[..., Settings]
NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_logout_ends_the_calling_token_and_its_socket_only(
    db_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(db_url), ManualClock(NOW)) as w:
        for name in ("op1", "op2", "op3"):
            await w.add_user(name, Role.OPERATOR)
        one, two = await bearer(w.client, "op1"), await bearer(w.client, "op2")
        async with (
            w.client.ws_connect("/api/live", headers=auth(one)) as ws1,
            w.client.ws_connect("/api/live", headers=auth(two)) as ws2,
        ):
            for ws in (ws1, ws2):
                await next_message(ws, lambda m: m["type"] == "snapshot")
            async with w.client.post("/api/logout", headers=auth(one)) as response:
                assert response.status == 204
            assert await closed(ws1) == aiohttp.WSCloseCode.POLICY_VIOLATION
            async with w.client.get("/api/me", headers=auth(one)) as response:
                assert response.status == 401
            async with w.client.post("/api/logout", headers=auth(one)) as response:
                assert response.status == 401
            async with w.client.get("/api/me", headers=auth(two)) as response:
                assert response.status == 200
            assert not ws2.closed
        # the dashboard's session: with its CSRF token, as every change by a cookie
        assert await form_login(w.client, "op3") == 303
        csrf = await page_csrf(w.client)
        async with w.client.post("/api/logout") as response:
            assert response.status == 403
        async with w.client.post("/api/logout", headers={"X-CSRF-Token": csrf}) as response:
            assert response.status == 204
        async with w.client.get("/api/me") as response:
            assert response.status == 401


async def test_a_disabled_user_loses_every_session_and_socket_at_once(
    db_url: str, settings_for: SettingsFor, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(db_url)
    async with web_only(settings) as w:
        for name in ("op1", "op2"):
            await w.add_user(name, Role.OPERATOR)
        token, other = await bearer(w.client, "op1"), await bearer(w.client, "op2")
        assert await form_login(w.client, "op1") == 303  # and a dashboard session
        async with (
            w.client.ws_connect("/api/live", headers=auth(token)) as by_token,
            w.client.ws_connect("/api/live") as by_cookie,
            w.client.ws_connect("/api/live", headers=auth(other)) as others,
        ):
            for ws in (by_token, by_cookie, others):
                await next_message(ws, lambda m: m["type"] == "snapshot")
            # as `dispatcher user disable op1` does, from its own process: no tick is
            # due (15 s) and nothing is announced, the follower's look finds it
            assert await user_command.set_disabled(settings, "op1", disabled=True) == 0
            for ws in (by_token, by_cookie):
                assert await closed(ws, within=5.0) == aiohttp.WSCloseCode.POLICY_VIOLATION
            assert not others.closed
        async with w.client.get("/api/me", headers=auth(token)) as response:
            assert response.status == 401
        async with w.client.get("/api/me") as response:
            assert response.status == 401
        async with w.client.post(
            "/api/login", json={"username": "op1", "password": "password-123"}
        ) as response:
            assert response.status == 401
        assert await form_login(w.client, "op1") == 401
        assert await user_command.list_users(settings) == 0
        listed = capsys.readouterr().out.splitlines()
        assert any(line.startswith("op1\toperator\tcity\tdisabled since ") for line in listed)
        assert any(line.startswith("op2\toperator\tcity\tactive\t1\t") for line in listed)
        assert await user_command.set_disabled(settings, "op1", disabled=False) == 0
        assert await bearer(w.client, "op1")
        assert await user_command.set_disabled(settings, "nobody", disabled=True) == 1
