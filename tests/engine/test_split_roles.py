"""A city's process split (`dispatcher run --roles`): ingest and web in one Service,
the escalation engine and the notifier in another, on one PostgreSQL database and one
topic prefix. The engine's process polls only once an hour here, so only a NOTIFY can
wake it in time: a press is escalated, and an operator's action reaches the terminal,
within a deadline far below that poll; the same after the listening connection was cut.
And the one-process embedded default cannot be split."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from sqlalchemy import select

from dispatcher import cli
from dispatcher.app import Service
from dispatcher.config import ProcessRole, Settings, load_settings
from dispatcher.startup import EX_CONFIG
from dispatcher.store.models import Notification
from dispatcher.users.accounts import Role as UserRole
from dispatcher.wakes import CHANNEL
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.service import add_user, api_client, only_alarm

pytestmark = pytest.mark.postgres

MOSQUITTO = ("127.0.0.1", 1883)
SettingsFor = Callable[..., Settings]
FRONT: frozenset[ProcessRole] = frozenset({"ingest", "web"})
BACK: frozenset[ProcessRole] = frozenset({"engine", "notifier"})
# the back process looks by itself only this often: what it does sooner, a NOTIFY woke
LONG_POLL_S = 3600.0
# far below the poll, and above a loaded CI machine's worst pass
DEADLINE_S = 15.0


@contextlib.asynccontextmanager
async def split(settings: Settings) -> AsyncIterator[tuple[Service, Service]]:
    """The two processes of one machine, on one configuration."""
    front = Service(settings, roles=FRONT, poll_s=LONG_POLL_S)
    back = Service(settings, roles=BACK, poll_s=LONG_POLL_S)
    async with front, back:
        await wait_for(lambda: front.broker_connected and back.broker_connected)
        yield front, back


async def first_step_sent(service: Service) -> bool:
    """The first step of the emergency policy (the operators' queue) went out."""
    async with service.sessions() as session:
        rows = await session.scalars(select(Notification.status).where(Notification.step == 0))
        # the dashboard's are delivered as they are sent
        return bool({"sent", "delivered"} & set(rows))


async def press(prefix: str, device: str, event_id: str) -> None:
    async with raw_peer(MOSQUITTO, prefix) as peer:
        await peer.publish(device, "event", event(event_id))
        _, ack = await peer.next_ack()
        assert ack["result"] == "accepted"


async def test_a_press_ingested_in_one_process_is_escalated_by_the_other_at_once(
    pg_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    async with split(settings_for(pg_url)) as (front, back):
        assert front.wakes is not None
        assert back.wakes is not None
        city = await seed_city(front.sessions)
        await press(topic_prefix, city.terminals[0], "sos-split")
        await wait_for(lambda: first_step_sent(back), within=DEADLINE_S)
        assert back.wakes.heard >= 1
        assert front.wakes.sent >= 1
        # the front process has neither loop running
        assert front.engine.passes == 0
        assert front.notifier.passes == 0


async def test_an_operators_action_reaches_the_terminal_through_the_other_process(
    pg_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    async with split(settings_for(pg_url)) as (front, back):
        assert back.commands is not None  # the notifier's own broker session
        city = await seed_city(front.sessions)
        await add_user(front, "op1", UserRole.OPERATOR)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer, api_client(front, "op1") as api:
            await peer.publish(city.terminals[0], "event", event("sos-act"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
            alarm = await only_alarm(front)
            async with api.post(f"/api/alarms/{alarm.id}/ack") as taken:
                assert taken.status == 200
            _, command = await peer.next_command(within=DEADLINE_S)
            assert command["type"] == "help_coming"


async def test_the_wake_ups_come_back_after_the_listening_connection_is_cut(
    pg_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    async with split(settings_for(pg_url)) as (front, back):
        assert back.wakes is not None
        city = await seed_city(front.sessions)
        passes = back.engine.passes
        conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            # as a database restart would: the server ends the LISTENing session
            cut = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE $1",
                f'LISTEN "{CHANNEL}"%',
            )
        finally:
            await conn.close()
        assert cut == 1
        await wait_for(lambda: back.wakes is not None and back.wakes.connections >= 2, within=10)
        # the reconnection makes the loops look at once; the press comes after that look
        await wait_for(lambda: back.engine.passes >= passes + 1, within=10)
        await press(topic_prefix, city.terminals[1], "sos-after-cut")
        await wait_for(lambda: first_step_sent(back), within=DEADLINE_S)


async def test_each_process_answers_for_its_own_broker_sessions(
    pg_url: str, settings_for: SettingsFor
) -> None:
    async with split(settings_for(pg_url)) as (front, back):
        async with aiohttp.ClientSession() as client:
            for service in (front, back):
                base = f"http://127.0.0.1:{service.http_port}"
                async with client.get(f"{base}/healthz") as health:
                    assert health.status == 200, await health.text()
                async with client.get(f"{base}/metrics") as metrics:
                    assert "dispatcher_mqtt_connected 1.0" in await metrics.text()
            # the engine's process serves no dashboard and no API
            async with client.get(f"http://127.0.0.1:{back.http_port}/api/alarms") as api:
                assert api.status == 404
        assert back.commands is not None
        # its commands session gone, the engine's process says so
        await back.commands.__aexit__(None, None, None)
        url = f"http://127.0.0.1:{back.http_port}/healthz"
        async with aiohttp.ClientSession() as client, client.get(url) as health:
            assert health.status == 503
            assert (await health.json())["broker"] == "not connected"


def test_split_roles_are_refused_on_sqlite_and_the_embedded_broker(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["run", "--roles", "engine,notifier"]) == EX_CONFIG
    err = capsys.readouterr().err
    assert "SQLite" in err
    assert "embedded MQTT broker" in err
    with pytest.raises(ValueError, match="SQLite"):
        load_settings(run={"roles": "ingest,web"})
    with pytest.raises(ValueError, match="SQLite"):
        Service(load_settings(), roles=BACK)


def test_roles_from_the_environment_are_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    pg_url = "postgresql+asyncpg://postgres@127.0.0.1/never_opened"
    monkeypatch.setenv("DISPATCHER_RUN__ROLES", "notifier, engine")
    settings = load_settings(database={"url": pg_url}, mqtt={"url": "mqtt://127.0.0.1:1883"})
    assert settings.run.role_set == BACK
    monkeypatch.setenv("DISPATCHER_RUN__ROLES", "engine,scheduler")
    with pytest.raises(ValueError, match="unknown roles scheduler"):
        load_settings(database={"url": pg_url}, mqtt={"url": "mqtt://127.0.0.1:1883"})


def test_all_roles_are_the_one_process_default(settings_for: SettingsFor, tmp_path: Path) -> None:
    listed = load_settings(run={"roles": ["notifier", "engine", "web", "ingest"]})
    assert listed.run.roles == "ingest,web,engine,notifier"
    assert load_settings().run.roles == listed.run.roles
    service = Service(settings_for(f"sqlite+aiosqlite:///{tmp_path}/one.db"))
    assert service.split is False
    assert service.wakes is None
    assert service.commands is None
