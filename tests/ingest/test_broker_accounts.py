"""Only a terminal may speak for itself (docs/protocol.md), on both brokers: Mosquitto as a
city runs it (deploy/mosquitto.conf, the files of `dispatcher broker-files`, terminals on
TLS) and the embedded broker (with its TLS listener). Each test runs on both."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import pytest

from devices import protocol_v1 as p
from devices.events import AckResult, CommandType
from dispatcher.app import Service
from dispatcher.config import Settings
from dispatcher.mqtt.connect import session
from dispatcher.store.models import EventLog, Terminal
from harness.certs import make_certificates
from harness.city import SmallCity, seed_city
from harness.mosquitto import OwnMosquitto, issue_credentials, logs_in
from harness.mqtt import event, raw_peer, wait_for
from harness.ports import free_port
from harness.service import count, running
from simulators.terminal import LoginRefusedError, SimulatedTerminal

DISPATCHER_PASSWORD = "dispatcher-secret-1"


@dataclass
class Secured:
    """A running service behind a broker that applies the accounts."""

    service: Service
    settings: Settings
    city: SmallCity
    passwords: dict[str, str]
    terminal_address: tuple[str, int]  # TLS
    dispatcher_address: tuple[str, int]
    cafile: Path
    mosquitto: OwnMosquitto | None

    @property
    def prefix(self) -> str:
        return self.settings.mqtt.topic_prefix

    @property
    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    @property
    def terminal_url(self) -> str:
        return "mqtts://{}:{}".format(*self.terminal_address)

    @property
    def dispatcher_password(self) -> str:
        password = self.service.mqtt.password
        assert password is not None
        return password

    async def logs_in(self, username: str, password: str | None) -> bool:
        return await logs_in(self.terminal_address, username, password, self.tls)

    async def accounts_changed(self) -> None:
        """What an administrator does after loading terminals or rotating a password:
        nothing on the embedded broker, which reads the database at each login."""
        if self.mosquitto is not None:
            await self.mosquitto.write_accounts(self.settings)
            self.mosquitto.reload()

    def terminal(self, device_id: str, password: str | None = None) -> SimulatedTerminal:
        return SimulatedTerminal(
            self.terminal_url,
            self.prefix,
            device_id,
            password=self.passwords.get(device_id) if password is None else password,
            cafile=str(self.cafile),
            clean_session=True,
            connect_timeout=5,
        )


@pytest.fixture(params=["mosquitto", "embedded"])
async def secured(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    settings_for: Callable[..., Settings],
) -> AsyncIterator[Secured]:
    db = tmp_path / "dispatcher.db"
    shutil.copyfile(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    mosquitto: OwnMosquitto | None = None
    if request.param == "mosquitto":
        mosquitto = OwnMosquitto(tmp_path / "mosquitto")
        settings = settings_for(
            url, mqtt={"url": mosquitto.dispatcher_url, "password": DISPATCHER_PASSWORD}
        )
        await mosquitto.write_accounts(settings)
        mosquitto.start()
        await wait_for(mosquitto.listening)
        certs = mosquitto.certs
        dispatcher_address = ("127.0.0.1", mosquitto.dispatcher_port)
        terminal_address = mosquitto.terminal_address
    else:
        certs = make_certificates(tmp_path / "certs")
        port, tls_port = free_port(), free_port()
        embedded: dict[str, object] = {"port": port, "tls_port": tls_port}
        embedded |= {"certfile": str(certs.cert), "keyfile": str(certs.key)}
        settings = settings_for(url, mqtt={"url": "", "embedded": embedded})
        dispatcher_address = ("127.0.0.1", port)
        terminal_address = ("127.0.0.1", tls_port)
    try:
        async with running(settings) as service:
            city = await seed_city(service.sessions)
            passwords = await issue_credentials(settings, city.terminals)
            secured = Secured(
                service,
                settings,
                city,
                passwords,
                terminal_address,
                dispatcher_address,
                certs.ca,
                mosquitto,
            )
            await secured.accounts_changed()
            first = city.terminals[0]
            await wait_for(lambda: secured.logs_in(first, passwords[first]))
            yield secured
    finally:
        if mosquitto is not None:
            mosquitto.stop()


@dataclass
class Recorder:
    """A bare client that keeps everything it receives, and how its connection ended."""

    client: aiomqtt.Client
    received: list[tuple[str, bytes]] = field(default_factory=list)
    lost: BaseException | None = None

    async def pump(self) -> None:
        try:
            async for message in self.client.messages:
                assert isinstance(message.payload, bytes)
                self.received.append((message.topic.value, message.payload))
        except aiomqtt.MqttError as exc:
            self.lost = exc

    def topics(self) -> set[str]:
        return {topic for topic, _ in self.received}


@contextlib.asynccontextmanager
async def recorder(
    address: tuple[str, int],
    username: str,
    password: str,
    *,
    tls: ssl.SSLContext | None,
    identifier: str | None = None,
    filters: tuple[str, ...] = (),
) -> AsyncIterator[Recorder]:
    async with aiomqtt.Client(
        *address,
        identifier=identifier or f"rec-{uuid.uuid4().hex[:8]}",
        username=username,
        password=password,
        tls_context=tls,
    ) as client:
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1)
        rec = Recorder(client)
        task = asyncio.create_task(rec.pump())
        try:
            yield rec
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_nobody_logs_in_without_the_right_password(secured: Secured) -> None:
    first, second = secured.city.terminals[:2]
    right = secured.passwords[first]
    assert await secured.logs_in(first, right)
    assert not await secured.logs_in(first, None)  # a username alone
    assert not await secured.logs_in(first, right + "x")
    assert not await secured.logs_in(first, secured.passwords[second])
    assert not await secured.logs_in("T-unknown", right)
    with pytest.raises(aiomqtt.MqttError):  # anonymous
        async with aiomqtt.Client(*secured.terminal_address, tls_context=secured.tls):
            pass
    # the simulator says so plainly
    with pytest.raises(LoginRefusedError, match="refused the login of"):
        async with secured.terminal(first, password="wrong"):
            pass
    # the dispatcher's account, and only with its own password
    address, username = secured.dispatcher_address, secured.settings.mqtt.username
    assert await logs_in(address, username, secured.dispatcher_password, None)
    assert not await logs_in(address, username, "not-it", None)
    if secured.mosquitto is not None:
        # the dispatchers' listener, where client ids are chosen freely, is not for terminals
        assert not await logs_in(address, first, right, None)


async def test_a_terminal_publishes_only_as_itself(secured: Secured) -> None:
    first, second = secured.city.terminals[:2]
    async with (
        raw_peer(
            secured.terminal_address,
            secured.prefix,
            login=(second, secured.passwords[second]),
            tls=secured.tls,
        ) as victim,
        raw_peer(
            secured.terminal_address,
            secured.prefix,
            login=(first, secured.passwords[first]),
            tls=secured.tls,
        ) as forger,
    ):
        await forger.publish(second, "event", event("forged-sos"))
        await forger.publish(second, "event", event("forged-checkin", "checkin"))
        await forger.publish(second, "status", "offline", retain=True)
        await forger.publish(first, "event", event("own"))
        # sent after the forgeries on one connection: once it is answered, they were dropped
        assert (await forger.next_ack())[1] == {"event_id": "own", "result": "accepted"}
        assert victim.acks.empty()
    assert await count(secured.service, EventLog, EventLog.event_id.like("forged%")) == 0
    assert await count(secured.service, EventLog, EventLog.device_id == second) == 0


async def test_a_terminal_reads_only_its_own_acks_and_commands(secured: Secured) -> None:
    first, second = secured.city.terminals[:2]
    prefix = secured.prefix
    spying = (
        p.ack_topic(prefix, second),
        p.command_topic(prefix, second),
        f"{prefix}/terminals/+/ack",
        f"{prefix}/terminals/+/command",
        f"{prefix}/terminals/+/status",
        p.ack_topic(prefix, first),
    )
    # the other is online (a retained status) before the spy comes
    async with (
        secured.terminal(second) as other,
        recorder(
            secured.terminal_address,
            first,
            secured.passwords[first],
            tls=secured.tls,
            filters=spying,
        ) as spy,
    ):
        assert (await other.press()).result is AckResult.ACCEPTED
        command = p.encode_command(CommandType.HELP_COMING, "a-1", "张丽五分钟后到")
        await secured.service.listener.publish(p.command_topic(prefix, second), command)
        assert (await other.next_command(timeout=10)).type is CommandType.HELP_COMING
        # the spy's own press, answered after all of the other's: anything leaked came first
        await spy.client.publish(p.event_topic(prefix, first), event("spy-own"), qos=1)
        await wait_for(lambda: spy.received)
    assert spy.topics() == {p.ack_topic(prefix, first)}


async def test_no_terminal_takes_the_dispatchers_session(secured: Secured) -> None:
    first = secured.city.terminals[0]
    prefix = secured.prefix
    name = f"dispatcher.watch-{uuid.uuid4().hex[:6]}"
    async with recorder(
        secured.dispatcher_address,
        secured.settings.mqtt.username,
        secured.dispatcher_password,
        tls=None,
        identifier=name,
        filters=(f"{prefix}/terminals/+/event",),
    ) as dispatcher:
        # a wrong password with the dispatcher's client id: refused before any harm
        assert not await logs_in_as(secured, name, first, "wrong")
        # the right password with the dispatcher's client id: logged in as itself only
        async with recorder(
            secured.terminal_address,
            first,
            secured.passwords[first],
            tls=secured.tls,
            identifier=name,
        ) as hijacker:
            await hijacker.client.publish(p.event_topic(prefix, first), event("hi"), qos=1)
            await wait_for(lambda: dispatcher.received)
        assert dispatcher.lost is None
        assert dispatcher.received[0][0] == p.event_topic(prefix, first)


async def logs_in_as(secured: Secured, identifier: str, username: str, password: str) -> bool:
    try:
        async with aiomqtt.Client(
            *secured.terminal_address,
            identifier=identifier,
            username=username,
            password=password,
            tls_context=secured.tls,
            timeout=5,
        ):
            return True
    except aiomqtt.MqttError:
        return False


async def test_a_press_over_tls_is_accepted_and_a_new_terminal_logs_in(secured: Secured) -> None:
    first = secured.city.terminals[0]
    async with secured.terminal(first) as sim:
        assert (await sim.press()).result is AckResult.ACCEPTED
    # a terminal loaded while the service runs: its account, then the broker's files
    async with secured.service.sessions.begin() as session:
        session.add(Terminal(device_id="T-NEW", resident_id=None, connected=False))
    new = await issue_credentials(secured.settings, ["T-NEW"])
    await secured.accounts_changed()
    await wait_for(lambda: secured.logs_in("T-NEW", new["T-NEW"]))


async def test_a_rotated_password_replaces_the_old_one(secured: Secured) -> None:
    first = secured.city.terminals[0]
    old = secured.passwords[first]
    assert await issue_credentials(secured.settings, [first]) == {first: old}
    new = (await issue_credentials(secured.settings, [first], rotate=True))[first]
    assert new != old
    await secured.accounts_changed()
    await wait_for(lambda: secured.logs_in(first, new))
    assert not await secured.logs_in(first, old)
    assert await issue_credentials(secured.settings, [first]) == {first: new}


async def test_the_dispatcher_over_tls(
    tmp_path: Path, db_url: str, settings_for: Callable[..., Settings]
) -> None:
    """`mqtt.url: mqtts://...` with `mqtt.ca_file`: the dispatcher's own connection is
    TLS too (the dispatchers' listener with a certificate, as deploy/mosquitto.conf says
    for an untrusted network)."""
    broker = OwnMosquitto(tmp_path / "mosquitto", dispatcher_tls=True)
    url = f"mqtts://127.0.0.1:{broker.dispatcher_port}"
    settings = settings_for(
        db_url,
        mqtt={"url": url, "password": DISPATCHER_PASSWORD, "ca_file": str(broker.certs.ca)},
    )
    await broker.write_accounts(settings)
    broker.start()
    try:
        await wait_for(broker.listening)
        async with running(settings) as service:
            city = await seed_city(service.sessions)
            first = city.terminals[0]
            passwords = await issue_credentials(settings, [first])
            await broker.write_accounts(settings)
            broker.reload()
            tls = broker.certs.client_context()
            await wait_for(lambda: logs_in(broker.terminal_address, first, passwords[first], tls))
            login = (first, passwords[first])
            async with raw_peer(
                broker.terminal_address, settings.mqtt.topic_prefix, login=login, tls=tls
            ) as peer:
                await peer.publish(first, "event", event("over-tls"))
                assert (await peer.next_ack())[1] == {"event_id": "over-tls", "result": "accepted"}
    finally:
        broker.stop()


# ---- limits at the door (issue 17 §3) ----------------------------------------------


def _mqtt_string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


@contextlib.asynccontextmanager
async def _raw_login(
    address: tuple[str, int], tls: ssl.SSLContext, username: str, password: str
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A logged-in MQTT 3.1.1 connection, bytes in hand."""
    reader, writer = await asyncio.open_connection(*address, ssl=tls)
    try:
        body = (
            _mqtt_string("MQTT")
            + bytes([4, 0xC2])  # level 4; username, password, clean session
            + (60).to_bytes(2, "big")
            + _mqtt_string(username)
            + _mqtt_string(username)
            + _mqtt_string(password)
        )
        writer.write(bytes([0x10]) + _remaining_length(len(body)) + body)
        async with asyncio.timeout(10):
            assert await reader.readexactly(4) == bytes([0x20, 2, 0, 0])  # CONNACK accepted
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def test_a_publish_over_the_limit_closes_the_connection_before_its_payload(
    secured: Secured,
) -> None:
    first = secured.city.terminals[0]
    topic = f"{secured.prefix}/terminals/{first}/event"
    login = (first, secured.passwords[first])
    async with _raw_login(secured.terminal_address, secured.tls, *login) as (reader, writer):
        # the header of a 255 MB publish, and only the start of its body: a broker that
        # waited for the payload would keep the connection open
        writer.write(bytes([0x30]) + _remaining_length(255_000_000) + _mqtt_string(topic))
        await writer.drain()
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # closed by the broker
    # a whole event of the protocol's 4 KiB still passes the door, and is answered
    async with raw_peer(
        secured.terminal_address, secured.prefix, login=login, tls=secured.tls
    ) as peer:
        full = event("full-4k", pad="")
        full = event("full-4k", pad="x" * (4096 - len(full)))
        assert len(full) == 4096
        await peer.publish(first, "event", full)
        assert (await peer.next_ack())[1] == {"event_id": "full-4k", "result": "accepted"}


async def test_a_large_retained_status_is_refused_and_not_kept(secured: Secured) -> None:
    first = secured.city.terminals[0]
    status = f"{secured.prefix}/terminals/{first}/status"
    login = (first, secured.passwords[first])
    async with raw_peer(
        secured.terminal_address, secured.prefix, login=login, tls=secured.tls
    ) as peer:
        await peer.publish(first, "status", "online", retain=True)
    with contextlib.suppress(aiomqtt.MqttError):  # the broker closes the connection
        async with session(
            aiomqtt.Client(
                *secured.terminal_address,
                identifier=first,
                username=first,
                password=login[1],
                tls_context=secured.tls,
            )
        ) as big:
            await big.publish(status, b"o" * 60_000, qos=1, retain=True, timeout=5)
    # what a newcomer gets is the small status kept before
    async with recorder(
        secured.dispatcher_address,
        secured.settings.mqtt.username,
        secured.dispatcher_password,
        tls=None,
        filters=(status,),
    ) as rec:
        await wait_for(lambda: rec.received)
        # (amqtt may send a retained message twice)
        assert {payload for _, payload in rec.received} == {b"online"}


async def test_the_dispatchers_account_cannot_log_in_from_the_field(secured: Secured) -> None:
    username = secured.settings.mqtt.username
    assert await logs_in(secured.dispatcher_address, username, secured.dispatcher_password, None)
    assert not await secured.logs_in(username, secured.dispatcher_password)
