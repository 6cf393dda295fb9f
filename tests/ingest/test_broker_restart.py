"""The broker goes away and comes back: the listener reconnects with backoff, and a
press queued in the broker's persistent session while the dispatcher was away arrives.

Runs its own Mosquitto (deploy/mosquitto.conf on a free port), not the machine's."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from dispatcher.config import Settings
from tests.support.city import seed_city
from tests.support.mqtt import event, raw_peer, wait_for
from tests.support.service import running

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
DEPLOY_CONF = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto.conf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnBroker:
    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        conf = DEPLOY_CONF.read_text()
        conf = conf.replace("listener 1883 0.0.0.0", f"listener {self.port} 127.0.0.1")
        conf = conf.replace("/var/lib/mosquitto/", f"{workdir}/")
        # run as root is dropped to user mosquitto, who cannot write pytest's 0700 dirs
        conf += "\nuser root\n"
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(conf)

    def start(self) -> None:
        with (self.workdir / "log.txt").open("ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def listening(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
            return True
        return False


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[OwnBroker]:
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed")
    own = OwnBroker(tmp_path)
    own.start()
    try:
        yield own
    finally:
        own.stop()


async def test_listener_reconnects_and_nothing_is_lost(
    broker: OwnBroker, db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    await wait_for(broker.listening)
    settings = settings_for(
        db_url, mqtt={"url": f"mqtt://127.0.0.1:{broker.port}", "reconnect_max_s": 1.0}
    )
    address = ("127.0.0.1", broker.port)
    async with running(settings, http=True) as service:
        city = await seed_city(service.sessions)
        async with raw_peer(address, topic_prefix) as peer:
            await peer.publish(city.terminals[0], "event", event("before"))
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

        async with raw_peer(address, topic_prefix) as peer:
            await peer.publish(city.terminals[1], "event", event("after"))
            assert (await peer.next_ack())[1] == {"event_id": "after", "result": "accepted"}


async def test_a_press_queued_across_a_broker_restart_still_arrives(
    broker: OwnBroker, db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    await wait_for(broker.listening)
    settings = settings_for(db_url, mqtt={"url": f"mqtt://127.0.0.1:{broker.port}"})
    address = ("127.0.0.1", broker.port)
    async with running(settings) as service:
        city = await seed_city(service.sessions)
    # the dispatcher is down; a press is queued for its session; then the broker restarts
    async with raw_peer(address, topic_prefix) as peer:
        await peer.publish(city.terminals[0], "event", event("queued"))
    broker.stop()
    broker.start()
    await wait_for(broker.listening)
    async with raw_peer(address, topic_prefix) as peer, running(settings):
        assert (await peer.next_ack(within=15))[1] == {"event_id": "queued", "result": "accepted"}
