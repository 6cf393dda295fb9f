"""`/api/live` as two operators see it: a press appears on both screens, one takes it
and the other sees who, it is resolved and leaves both queues. A screen that connects
late gets the whole queue first; a page of another site is refused; the engine's steps
arrive without anyone telling the hub; on PostgreSQL a second process sees the first
one's changes through NOTIFY; shutting down closes every socket; and a socket closes
when its session ends."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from dispatcher.app import Service
from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.store.models import Alarm
from dispatcher.users import accounts as users
from dispatcher.users.accounts import Role
from dispatcher.web import live_hub, live_sources
from dispatcher.web.state import DEPS
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.service import add_user, api_client, running
from tests.web.helpers import bearer, form_login, page_csrf, web_only

MOSQUITTO = ("127.0.0.1", 1883)
SettingsFor = Callable[..., Settings]
Message = dict[str, Any]
AT_3AM = datetime(2026, 11, 27, 3, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@contextlib.asynccontextmanager
async def screen(
    service: Service, username: str, *, origin: str | None = None
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A dashboard's live socket, logged in as `username`."""
    async with (
        api_client(service, username) as client,
        client.ws_connect("/api/live", origin=origin) as ws,
    ):
        yield ws


async def next_message(
    ws: aiohttp.ClientWebSocketResponse, wanted: Callable[[Message], bool], within: float = 5.0
) -> Message:
    """The next message `wanted` accepts (others are skipped), within the deadline."""
    async with asyncio.timeout(within):
        async for raw in ws:
            message: Message = json.loads(raw.data)
            if wanted(message):
                return message
    raise AssertionError("the socket closed first")


async def close_code(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    """Read until the server closes the socket; the code it closed it with."""
    while True:
        message = await ws.receive()
        if message.type is aiohttp.WSMsgType.CLOSE:
            return int(message.data)
        if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            return None


async def closed(ws: aiohttp.ClientWebSocketResponse, within: float = 5.0) -> int | None:
    async with asyncio.timeout(within):
        return await close_code(ws)


def alarm(**fields: object) -> Callable[[Message], bool]:
    def match(message: Message) -> bool:
        found = message.get("alarm", {})
        return message["type"] == "alarm" and all(found.get(k) == v for k, v in fields.items())

    return match


async def press_sos(prefix: str, device: str) -> None:
    async with raw_peer(MOSQUITTO, prefix) as peer:
        await peer.publish(device, "event", event())
        assert (await peer.next_ack())[1]["result"] == "accepted"


async def test_two_operators_see_a_press_taken_and_resolved(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    async with running(settings_for(db_url), http=True) as service:
        city = await seed_city(service.sessions)
        await add_user(service, "op1", Role.OPERATOR)
        await add_user(service, "op2", Role.OPERATOR)
        async with screen(service, "op1") as one, screen(service, "op2") as two:
            for ws in (one, two):
                snapshot = await next_message(ws, lambda m: m["type"] == "snapshot")
                assert snapshot["alarms"] == []

            await press_sos(topic_prefix, city.terminals[0])
            for ws in (one, two):
                opened = await next_message(ws, alarm(status="open"), within=1.0)
                assert opened["alarm"]["resident"]["name"] == "居民1"
            alarm_id = opened["alarm"]["id"]

            async with api_client(service, "op1") as op1:
                async with op1.post(f"/api/alarms/{alarm_id}/ack") as response:
                    assert response.status == 200
                taken = await next_message(two, alarm(id=alarm_id, status="acknowledged"))
                assert taken["alarm"]["acknowledged_by"] == "op1"

                # a screen that connects now starts from the whole queue
                async with screen(service, "op2") as late:
                    first = await next_message(late, lambda m: True)
                    assert first["type"] == "snapshot"
                    assert [a["acknowledged_by"] for a in first["alarms"]] == ["op1"]

                body = {"outcome": "help_given", "note": "家人已到"}
                async with op1.post(f"/api/alarms/{alarm_id}/resolve", json=body) as response:
                    assert response.status == 200
            for ws in (one, two):
                done = await next_message(ws, alarm(id=alarm_id, status="resolved"))
                assert done["alarm"]["outcome"] == "help_given"


async def test_a_page_of_another_site_cannot_open_the_socket(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    async with running(settings_for(sqlite_url), http=True) as service:
        await add_user(service, "op1", Role.OPERATOR)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with screen(service, "op1", origin="http://evil.example"):
                pass
        assert refused.value.status == 403
        same = f"http://127.0.0.1:{service.http_port}"
        async with screen(service, "op1", origin=same) as ws:
            assert (await next_message(ws, lambda m: True))["type"] == "snapshot"
        base = f"http://127.0.0.1:{service.http_port}"
        async with aiohttp.ClientSession(base) as anonymous:
            with pytest.raises(aiohttp.WSServerHandshakeError) as no_login:
                async with anonymous.ws_connect("/api/live"):
                    pass
            assert no_login.value.status == 401


async def test_escalation_steps_reach_the_screens_and_shutdown_closes_them(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    clock = ManualClock(AT_3AM)
    stop = contextlib.AsyncExitStack()
    service = await stop.enter_async_context(running(settings_for(db_url), clock=clock, http=True))
    try:
        city = await seed_city(service.sessions)
        await add_user(service, "op1", Role.OPERATOR)
        async with screen(service, "op1") as ws:
            await next_message(ws, lambda m: m["type"] == "snapshot")
            await press_sos(topic_prefix, city.terminals[0])
            await next_message(ws, alarm(status="open", step=0))
            # the queue shows the alarm as soon as it is stored; time moves only once the
            # engine has fired its first step, or that step would fire late
            await wait_for(lambda: _escalating(service))
            clock.advance(60)  # nobody took it: the engine calls the worker on shift
            stepped = await next_message(ws, alarm(status="open", step=1))
            assert stepped["alarm"]["rev"] > 0
            # the service shuts down while the screen reads on, as a browser does
            reader = asyncio.create_task(close_code(ws))
            await stop.aclose()
            async with asyncio.timeout(5):
                assert await reader == aiohttp.WSCloseCode.GOING_AWAY
    finally:
        await stop.aclose()


@pytest.mark.postgres
async def test_a_second_process_hears_the_first_through_notify(
    pg_url: str,
    settings_for: SettingsFor,
    topic_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the followers look once a minute here: only NOTIFY can be this quick
    monkeypatch.setattr(live_sources, "POLL_S", 60.0)
    group = {"mqtt": {"shared_group": "dispatchers"}}
    async with (
        running(settings_for(pg_url, **group), http=True) as first,
        running(settings_for(pg_url, **group), http=True) as second,
    ):
        city = await seed_city(first.sessions)
        await add_user(first, "op1", Role.OPERATOR)
        await add_user(first, "op2", Role.OPERATOR)
        for service in (first, second):
            bus = service.web_app[live_hub.LIVE].bus
            assert isinstance(bus, live_sources.LiveNotices)
            await wait_for(bus.connected.is_set)
        async with screen(first, "op1") as on_first, screen(second, "op2") as on_second:
            for ws in (on_first, on_second):
                await next_message(ws, lambda m: m["type"] == "snapshot")
            await press_sos(topic_prefix, city.terminals[0])  # ingested by one of the two
            opened = [await next_message(ws, alarm(status="open")) for ws in (on_first, on_second)]
            alarm_id = opened[0]["alarm"]["id"]
            async with (
                api_client(first, "op1") as op1,
                op1.post(f"/api/alarms/{alarm_id}/ack") as response,
            ):
                assert response.status == 200
            taken = await next_message(on_second, alarm(id=alarm_id, status="acknowledged"), 1.0)
            assert taken["alarm"]["acknowledged_by"] == "op1"


async def _escalating(service: Service) -> bool:
    async with service.sessions() as session:
        return bool(await session.scalar(select(Alarm.escalation_started)))


async def test_a_socket_lives_only_as_long_as_its_session(
    db_url: str, settings_for: SettingsFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logged out (here), the password changed (anywhere), or expired: the socket is
    closed at the next round of messages; the others' screens go on."""
    monkeypatch.setattr(live_hub, "TICK_S", 0.2)  # a round of messages without changes
    clock = ManualClock(AT_3AM)
    async with web_only(settings_for(db_url), clock) as w:
        for name in ("op1", "op2", "op3", "op4"):
            await w.add_user(name, Role.OPERATOR)
        assert await form_login(w.client, "op1") == 303
        csrf = await page_csrf(w.client)  # op1's page, with its session cookie
        bearers = {name: await bearer(w.client, name) for name in ("op2", "op3", "op4")}

        def socket(name: str) -> Any:
            if name == "op1":
                return w.client.ws_connect("/api/live")
            return w.client.ws_connect(
                "/api/live", headers={"Authorization": f"Bearer {bearers[name]}"}
            )

        async with socket("op1") as op1, socket("op2") as op2, socket("op3") as op3:
            for ws in (op1, op2, op3):
                await next_message(ws, lambda m: m["type"] == "snapshot")
            async with w.client.post("/logout", data={"csrf": csrf}, allow_redirects=False):
                pass
            assert await closed(op1) == aiohttp.WSCloseCode.POLICY_VIOLATION
            async with w.sessions.begin() as session:  # as `dispatcher user add` does
                await users.add_or_update_user(
                    session=session,
                    username="op2",
                    role=Role.OPERATOR,
                    password="a-new-password",
                    now=clock.now(),
                )
            assert await closed(op2) == aiohttp.WSCloseCode.POLICY_VIOLATION
            await next_message(op3, lambda m: m["type"] == "tick")  # op3 goes on
            async with socket("op4") as op4:
                await next_message(op4, lambda m: m["type"] == "snapshot")
                clock.advance(w.app[DEPS].settings.http.token_ttl_s)
                for ws in (op3, op4):
                    assert await closed(ws) == aiohttp.WSCloseCode.POLICY_VIOLATION


async def test_a_first_start_on_a_new_database_file_warns_of_nothing(
    tmp_path: Path, settings_for: SettingsFor, caplog: pytest.LogCaptureFixture
) -> None:
    """The live feeds read the database once it is migrated: on a new SQLite file the
    follower used to look during the migration and warn that a table was missing."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    # alembic's own level too: a quiet command run in-process before (`cli.main(["backup",
    # ...])`) leaves it at WARNING for the rest of the worker
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="alembic"):
        async with (
            running(settings_for(url), http=True) as service,
            aiohttp.ClientSession() as client,
            client.get(f"http://127.0.0.1:{service.http_port}/healthz") as health,
        ):
            assert health.status == 200
    migrated = [r for r in caplog.records if r.name.startswith("alembic")]
    assert migrated  # the file was new: it was migrated at this start
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warned == []
