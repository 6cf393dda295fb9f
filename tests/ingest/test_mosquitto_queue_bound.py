"""What Mosquitto queues for a dispatcher session that is away is bounded in bytes
(deploy/mosquitto.conf `max_queued_bytes`, issue 17 §3): one terminal sending large
events no longer fills the broker's memory. Shown on a Mosquitto of the test's own with
the deployed file, its bound lowered to 1 MiB so that the test sends little."""

from __future__ import annotations

import re
import shutil
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import aiomqtt
import pytest

from dispatcher.config import Settings
from dispatcher.mqtt.connect import connect_args, session, subscription_filters
from dispatcher.store.db import create_engine, session_factory
from harness.city import seed_city
from harness.mosquitto import (
    DEPLOY_CONF,
    MOSQUITTO,
    OwnMosquitto,
    issue_credentials,
)
from harness.mqtt import event, wait_for

PASSWORD = "queue-bound-dispatcher-secret"
BOUND = 1024 * 1024
DROPPING = "Outgoing messages are being dropped for client"


def test_the_deployed_queue_is_bounded_in_bytes() -> None:
    conf = DEPLOY_CONF.read_text(encoding="utf-8")
    (queued,) = re.findall(r"^max_queued_bytes (\d+)$", conf, re.MULTILINE)
    # bounded, and room for a city's day away (README: "Limits at the door")
    assert 64 * 1024**2 <= int(queued) <= 1024**3
    assert re.search(r"^max_packet_size 5120$", conf, re.MULTILINE)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[OwnMosquitto]:
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed")
    own = OwnMosquitto(tmp_path / "mosquitto")
    conf = own.conf.read_text(encoding="utf-8")
    lowered = re.sub(
        r"^max_queued_bytes \d+$", f"max_queued_bytes {BOUND}", conf, flags=re.MULTILINE
    )
    assert lowered != conf
    own.conf.write_text(lowered, encoding="utf-8")
    try:
        yield own
    finally:
        own.stop()


async def test_a_terminal_cannot_fill_the_queue_of_a_dispatcher_away(
    broker: OwnMosquitto,
    tmp_path: Path,
    sqlite_template: Path,
    settings_for: Callable[..., Settings],
) -> None:
    db = tmp_path / "dispatcher.db"
    shutil.copyfile(sqlite_template, db)
    settings = settings_for(
        f"sqlite+aiosqlite:///{db}", mqtt={"url": broker.dispatcher_url, "password": PASSWORD}
    )
    engine = create_engine(settings.database.url)
    try:
        city = await seed_city(session_factory(engine))
    finally:
        await engine.dispose()
    device = city.terminals[0]
    passwords = await issue_credentials(settings, [device])
    await broker.write_accounts(settings)
    broker.start()
    await wait_for(broker.listening)
    mqtt = settings.mqtt
    # the dispatcher's persistent session subscribes, then goes away
    async with session(aiomqtt.Client(**connect_args(mqtt))) as dispatcher:
        await dispatcher.subscribe([(f, 1) for f in subscription_filters(mqtt, ("event",))])
    tls = ssl.create_default_context(cafile=str(broker.certs.ca))
    sent = 0
    async with session(
        aiomqtt.Client(
            *broker.terminal_address,
            identifier=device,
            username=device,
            password=passwords[device],
            tls_context=tls,
        )
    ) as terminal:
        topic = f"{mqtt.topic_prefix}/terminals/{device}/event"
        big = event("pad", pad="")
        while DROPPING not in broker.log():
            # 4 KiB events, the largest the protocol has; unbounded, 1,000,000 would queue
            payload = event(f"fill-{sent}", pad="x" * (4096 - len(big) - 8))
            await terminal.publish(topic, payload, qos=1)
            sent += 1
            assert sent * 4096 < 4 * BOUND, "still queueing past 4x the bound"
    assert sent * 4096 >= BOUND // 2  # the bound, not something else, stopped it
    print(f"\nqueue bound: dropping for the dispatcher's session after {sent} events of 4 KiB")
