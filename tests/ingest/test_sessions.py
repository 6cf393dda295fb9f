"""Events and heartbeats on two broker sessions (issue 9 §3): the events' session is the
one an older version used for everything, and it lets go of the heartbeats."""

from __future__ import annotations

import json
from collections.abc import Callable

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices import protocol_v1
from dispatcher.config import Settings
from dispatcher.store.models import Terminal
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.service import running

MOSQUITTO = ("127.0.0.1", 1883)
BEAT = json.dumps({"v": 1, "ts": "2026-11-27T03:00:00+08:00", "battery": 61})


async def test_the_events_session_of_an_older_version_stops_taking_heartbeats(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    settings = settings_for(db_url)
    # the persistent session an older dispatcher left: subscribed to all a terminal sends
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 600
    async with aiomqtt.Client(
        *MOSQUITTO,
        identifier=settings.mqtt.client_id,
        username=settings.mqtt.username,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=props,
    ) as older:
        await older.subscribe([(f, 1) for f in protocol_v1.subscription_filters(topic_prefix)])

    async with running(settings) as service, raw_peer(MOSQUITTO, topic_prefix) as peer:
        city = await seed_city(service.sessions)
        device = city.terminals[0]
        await peer.publish(device, "heartbeat", BEAT)

        async def written() -> bool:
            await service.heartbeats.flush()
            async with service.sessions() as session:
                return (await session.get_one(Terminal, device)).battery == 61

        await wait_for(written)
        await peer.publish(device, "event", event("after-upgrade"))
        assert (await peer.next_ack())[1] == {"event_id": "after-upgrade", "result": "accepted"}
    assert service.listener.processed == 1  # the press alone: the heartbeat went the other way
    assert service.liveness.processed == 1
