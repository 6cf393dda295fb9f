"""The broker goes away and comes back: the listener reconnects with backoff, and a
press queued in the broker's persistent session while the dispatcher was away arrives.

Runs its own Mosquitto (deploy/mosquitto.conf on free ports, with accounts), not the
machine's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from dispatcher.app import Service
from dispatcher.config import Settings
from harness.city import SmallCity, seed_city
from harness.mosquitto import MOSQUITTO, OwnMosquitto, issue_credentials, logs_in
from harness.mqtt import event, raw_peer, wait_for
from harness.service import running

DISPATCHER_PASSWORD = "dispatcher-secret-1"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[OwnMosquitto]:
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed")
    own = OwnMosquitto(tmp_path)
    try:
        yield own
    finally:
        own.stop()


async def _city_with_accounts(
    service: Service, settings: Settings, broker: OwnMosquitto
) -> tuple[SmallCity, dict[str, str]]:
    """The test city, its terminals' accounts loaded into the running broker."""
    city = await seed_city(service.sessions)
    passwords = await issue_credentials(settings, city.terminals)
    await broker.write_accounts(settings)
    broker.reload()
    first = city.terminals[0]
    tls = broker.certs.client_context()
    await wait_for(lambda: logs_in(broker.terminal_address, first, passwords[first], tls))
    return city, passwords


async def test_listener_reconnects_and_nothing_is_lost(
    broker: OwnMosquitto, db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    settings = settings_for(
        db_url,
        mqtt={
            "url": broker.dispatcher_url,
            "password": DISPATCHER_PASSWORD,
            "reconnect_max_s": 1.0,
        },
    )
    await broker.write_accounts(settings)
    broker.start()
    await wait_for(broker.listening)
    tls = broker.certs.client_context()
    async with running(settings, http=True) as service:
        city, passwords = await _city_with_accounts(service, settings, broker)
        first, second = city.terminals[:2]
        async with raw_peer(
            broker.terminal_address, topic_prefix, login=(first, passwords[first]), tls=tls
        ) as peer:
            await peer.publish(first, "event", event("before"))
            assert (await peer.next_ack())[1]["result"] == "accepted"

        broker.stop()
        await wait_for(lambda: not service.listener.connected)
        # the load balancer and the on-call engineer see which part is down
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"http://127.0.0.1:{service.http_port}/healthz") as health,
        ):
            assert health.status == 503
            assert (await health.json())["broker"] == "not connected"
        broker.start()  # persistence on: the dispatcher's session survives the restart
        await wait_for(broker.listening)
        await wait_for(lambda: service.listener.connected, within=15)

        async with raw_peer(
            broker.terminal_address, topic_prefix, login=(second, passwords[second]), tls=tls
        ) as peer:
            await peer.publish(second, "event", event("after"))
            assert (await peer.next_ack())[1] == {"event_id": "after", "result": "accepted"}


async def test_a_press_queued_across_a_broker_restart_still_arrives(
    broker: OwnMosquitto, db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    settings = settings_for(
        db_url, mqtt={"url": broker.dispatcher_url, "password": DISPATCHER_PASSWORD}
    )
    await broker.write_accounts(settings)
    broker.start()
    await wait_for(broker.listening)
    async with running(settings) as service:
        city, passwords = await _city_with_accounts(service, settings, broker)
    # the dispatcher is down; a press is queued for its session; then the broker restarts
    first = city.terminals[0]
    login, tls = (first, passwords[first]), broker.certs.client_context()
    async with raw_peer(broker.terminal_address, topic_prefix, login=login, tls=tls) as peer:
        await peer.publish(first, "event", event("queued"))
    broker.stop()
    broker.start()
    await wait_for(broker.listening)
    async with (
        raw_peer(broker.terminal_address, topic_prefix, login=login, tls=tls) as peer,
        running(settings),
    ):
        assert (await peer.next_ack(within=15))[1] == {"event_id": "queued", "result": "accepted"}
