"""Failed logins slow down the one guessing, not the one guessed: five failures of a
user from one address make that address wait, doubling each time, while the user logs
in from anywhere else as usual; an address failing for many users waits too, but not
for a user who logged in from it before, and a user's device token is counted apart
from everything an attacker at the same address can send. Counted in the database:
every process of a city agrees. On both databases; the addresses are given by a trusted
proxy's X-Forwarded-For."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.rules.login_backoff import FREE, Scope
from dispatcher.users import accounts as users
from dispatcher.users import login_failures
from dispatcher.users.accounts import Role
from tests.web.helpers import PASSWORD, WebOnly, form_login, web_only

SettingsFor = Callable[..., Settings]
Client = TestClient[web.Request, web.Application]
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PER_PAIR = FREE[Scope.USER_AT_ADDRESS]
PER_ADDRESS = FREE[Scope.ADDRESS]


def at(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def api_login(
    client: Client, username: str, address: str, password: str = PASSWORD
) -> tuple[int, float | None]:
    """(status, Retry-After) of `POST /api/login` from `address`."""
    status, wait, _ = await device_login(client, username, address, password)
    return status, wait


async def device_login(
    client: Client,
    username: str,
    address: str,
    password: str = PASSWORD,
    device: str | None = None,
) -> tuple[int, float | None, str | None]:
    """(status, Retry-After, the device token given) of `POST /api/login` from `address`."""
    sent = {"username": username, "password": password}
    if device is not None:
        sent["device"] = device
    async with client.post("/api/login", json=sent, headers=at(address)) as response:
        wait = response.headers.get("Retry-After")
        given = (await response.json()).get("device") if response.status == 200 else None
        return response.status, float(wait) if wait is not None else None, given


@asynccontextmanager
async def behind_a_proxy(settings: Settings, clock: ManualClock) -> AsyncIterator[WebOnly]:
    trusted = settings.model_copy(
        update={"http": settings.http.model_copy(update={"trusted_proxies": ["127.0.0.1"]})}
    )
    async with web_only(trusted, clock) as w:
        yield w


async def test_failures_slow_that_user_from_that_address_only(
    db_url: str, settings_for: SettingsFor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = ManualClock(NOW)
    async with behind_a_proxy(settings_for(db_url), clock) as w:
        await w.add_user("op1", Role.OPERATOR)
        for _ in range(PER_PAIR):
            assert await api_login(w.client, "op1", "10.0.0.1", "wrong") == (401, None)
        # from there, now even the right password waits: on the API and the form
        status, wait = await api_login(w.client, "op1", "10.0.0.1")
        assert (status, wait) == (429, 2.0)
        assert await form_login(w.client, "op1", headers=at("10.0.0.1")) == 429
        # the same operator at another desk logs in as usual
        assert (await api_login(w.client, "op1", "10.0.0.2"))[0] == 200
        assert await form_login(w.client, "op1", headers=at("10.0.0.2")) == 303
        # guessing stays slow: each failure after the wait doubles it
        waits = []
        for _ in range(2):
            clock.advance(wait or 0)
            assert (await api_login(w.client, "op1", "10.0.0.1", "wrong"))[0] == 401
            status, wait = await api_login(w.client, "op1", "10.0.0.1")
            assert status == 429
            waits.append(wait)
        assert waits == [4.0, 8.0]
        # once the wait is over, the right password works and clears the count
        clock.advance(wait or 0)
        assert (await api_login(w.client, "op1", "10.0.0.1"))[0] == 200
        assert (await api_login(w.client, "op1", "10.0.0.1", "wrong"))[0] == 401
        assert (await api_login(w.client, "op1", "10.0.0.1"))[0] == 200
    messages = [r.getMessage() for r in caplog.records]
    assert sum("failed login for 'op1' from 10.0.0.1" in m for m in messages) == PER_PAIR + 3
    assert any("login refused for 'op1' from 10.0.0.1" in m for m in messages)


async def test_one_address_trying_many_users_waits(db_url: str, settings_for: SettingsFor) -> None:
    clock = ManualClock(NOW)
    async with behind_a_proxy(settings_for(db_url), clock) as w:
        await w.add_user("op2", Role.OPERATOR)
        # it has tried many names already (counted as the guard counts them)...
        async with w.sessions.begin() as session:
            for n in range(PER_ADDRESS - 1):
                keyed = login_failures.keys(f"guess{n}", "10.0.0.3")
                await login_failures.count_attempt(session=session, keyed=keyed, now=clock.now())
        # ...and one more, through the API
        assert (await api_login(w.client, "guess", "10.0.0.3", "wrong"))[0] == 401
        assert (await api_login(w.client, "op2", "10.0.0.3"))[0] == 429
        assert (await api_login(w.client, "op2", "10.0.0.4"))[0] == 200


async def test_every_process_counts_the_same_failures(
    db_url: str, settings_for: SettingsFor
) -> None:
    """Two web apps on one database, as two processes of a city."""
    clock = ManualClock(NOW)
    settings = settings_for(db_url)
    async with behind_a_proxy(settings, clock) as one, behind_a_proxy(settings, clock) as two:
        await one.add_user("op1", Role.OPERATOR)
        for n in range(PER_PAIR):
            client = (one if n % 2 else two).client
            assert (await api_login(client, "op1", "10.0.0.5", "wrong"))[0] == 401
        assert (await api_login(one.client, "op1", "10.0.0.5"))[0] == 429
        assert (await api_login(two.client, "op1", "10.0.0.5"))[0] == 429


async def test_guesses_sent_at_once_all_count(sqlite_url: str, settings_for: SettingsFor) -> None:
    clock = ManualClock(NOW)
    async with behind_a_proxy(settings_for(sqlite_url), clock) as w:
        await w.add_user("op1", Role.OPERATOR)
        results = await asyncio.gather(
            *(api_login(w.client, "op1", "10.0.0.6", "wrong") for _ in range(3 * PER_PAIR))
        )
        assert sum(status == 401 for status, _ in results) <= PER_PAIR + 1
        assert {status for status, _ in results} <= {401, 429}


async def flood(client: Client, address: str, failures: int, username: str = "") -> None:
    """Failed logins from `address`: as `username`, else each with a made-up name."""
    for n in range(failures):
        status, _ = await api_login(client, username or f"made-up-{n}", address, "wrong")
        assert status in {401, 429}


async def test_made_up_names_from_a_shared_address_lock_out_no_operator_of_it(
    db_url: str, settings_for: SettingsFor
) -> None:
    """A call centre behind one NAT: its operators log in from 10.0.1.1 every day."""
    clock = ManualClock(NOW)
    async with behind_a_proxy(settings_for(db_url), clock) as w:
        for name in ("op1", "op2", "op3"):
            await w.add_user(name, Role.OPERATOR)
        assert (await api_login(w.client, "op1", "10.0.1.1"))[0] == 200
        assert await form_login(w.client, "op2", headers=at("10.0.1.1")) == 303
        clock.advance(3600)
        await flood(w.client, "10.0.1.1", PER_ADDRESS + 2)
        assert (await api_login(w.client, "made-up", "10.0.1.1"))[0] == 429
        # the operators who work there log in with their passwords, on the API and the form
        assert (await api_login(w.client, "op1", "10.0.1.1"))[0] == 200
        w.client.session.cookie_jar.clear()
        assert await form_login(w.client, "op2", headers=at("10.0.1.1")) == 303
        # the address limit still stops the guesses at other users from there (spraying)
        assert (await api_login(w.client, "op3", "10.0.1.1"))[0] == 429
        assert (await api_login(w.client, "op3", "10.0.1.2"))[0] == 200
        # and op1's own password is still guarded by op1's count there
        for _ in range(PER_PAIR):
            assert (await api_login(w.client, "op1", "10.0.1.1", "wrong"))[0] == 401
        assert (await api_login(w.client, "op1", "10.0.1.1"))[0] == 429


async def test_a_device_token_is_not_slowed_by_anyone_else(
    db_url: str, settings_for: SettingsFor
) -> None:
    """An attacker behind the same NAT fails op1's own name and made-up ones; op1's
    client, with the device token of its last login, logs in at once. Only failures
    with that token slow it down."""
    clock = ManualClock(NOW)
    async with behind_a_proxy(settings_for(db_url), clock) as w:
        await w.add_user("op1", Role.OPERATOR)
        await w.add_user("op2", Role.OPERATOR)
        status, _, device = await device_login(w.client, "op1", "10.0.2.1")
        assert status == 200
        assert device
        assert await form_login(w.client, "op1", headers=at("10.0.2.1")) == 303
        await flood(w.client, "10.0.2.1", 3 * PER_PAIR, "op1")
        await flood(w.client, "10.0.2.1", PER_ADDRESS)
        assert (await api_login(w.client, "op1", "10.0.2.1"))[0] == 429
        # with its device token: in, and the same token goes on
        assert await device_login(w.client, "op1", "10.0.2.1", device=device) == (
            200,
            None,
            device,
        )
        # the browser's device cookie (only sent to /login) does the same for the form
        w.client.session.cookie_jar.clear(lambda c: c.key == "dispatcher_session")
        assert await form_login(w.client, "op1", headers=at("10.0.2.1")) == 303
        # another user's token, or a made-up one, is no device of op1's
        _, _, other = await device_login(w.client, "op2", "10.0.2.9")
        for wrong in (other, "x" * 43):
            status, _, _ = await device_login(w.client, "op1", "10.0.2.1", device=wrong)
            assert status == 429, wrong
        # failures with the token count on the token
        for _ in range(PER_PAIR):
            status, _, _ = await device_login(w.client, "op1", "10.0.2.1", "wrong", device)
            assert status == 401
        assert (await device_login(w.client, "op1", "10.0.2.1", device=device))[0] == 429
        # a disabled user's devices are nothing
        clock.advance(900)
        async with w.sessions.begin() as session:
            await users.set_disabled(
                session=session, username="op1", disabled=True, now=clock.now()
            )
        assert (await device_login(w.client, "op1", "10.0.2.3", device=device))[0] == 401
