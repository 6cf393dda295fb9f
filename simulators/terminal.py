"""A simulated alarm terminal that speaks protocol v1 over MQTT like a real device.

It keeps a persistent MQTT 3.1.1 session (works on amqtt and Mosquitto) under the
username of its device_id, since amqtt keeps no offline queue for anonymous clients, so
acks and commands sent while it reconnects still reach it; with the password of its
account (docs/protocol.md), over TLS for an mqtts:// broker. It leaves `offline` as its
last will, repeats each event until the backend acks it, and reconnects on its own.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import socket
import ssl
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from devices import protocol_v1 as p
from devices.events import (
    Ack,
    Command,
    EventType,
    Heartbeat,
    PowerSource,
    Rejection,
    TerminalEvent,
)

_ACKS_KEPT = 10_000  # acks remembered per terminal for `await_ack` (bounded for fleets)


# CONNACK codes of a refused login: MQTT 3.1.1 (4, 5) and MQTT 5 (0x86, 0x87)
_LOGIN_REFUSED = {4, 5, 0x86, 0x87}


class LoginRefusedError(ConnectionError):
    """The broker refused the terminal's username and password."""


def parse_broker_url(url: str) -> tuple[str, int]:
    """`mqtt://host:port` (port 1883 when absent) or `mqtts://host:port` (8883) as
    (host, port)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp", "mqtts") or not parts.hostname:
        raise ValueError(
            f"broker must look like mqtt://host:port or mqtts://host:port, not {url!r}"
        )
    return parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883)


def _login_refused(exc: BaseException) -> bool:
    code = getattr(exc, "rc", None)
    return isinstance(exc, MqttConnectError) and getattr(code, "value", code) in _LOGIN_REFUSED


class SimulatedTerminal:
    """One terminal. Use as `async with SimulatedTerminal(...) as t: await t.press()`.

    `limiter`, shared by a fleet, bounds how many QoS 1 publishes are in flight at once
    across all its terminals (docs/stack-notes.md: too many in flight stall a publisher)."""

    def __init__(
        self,
        broker: str,
        prefix: str,
        device_id: str,
        *,
        password: str | None = None,
        tls: bool = False,
        cafile: str | None = None,
        heartbeat_s: float | None = None,
        logger: logging.Logger | None = None,
        limiter: asyncio.Semaphore | None = None,
        clean_session: bool = False,
        keepalive: int = 30,
        connect_timeout: float = 10.0,
        reconnect_s: float = 1.0,
        announce_offline: bool = True,
    ) -> None:
        if not p.is_device_id(device_id):
            raise ValueError(f"bad device_id {device_id!r}: 1 to 64 of A-Z a-z 0-9 - _")
        self.host, self.port = parse_broker_url(broker)
        self.broker, self.prefix, self.device_id = broker, prefix, device_id
        self._password = password
        use_tls = tls or urlsplit(broker).scheme == "mqtts"
        # the broker's certificate is checked against `cafile` (or the system's CAs)
        self._tls = ssl.create_default_context(cafile=cafile) if use_tls else None
        self.heartbeat_s = heartbeat_s
        self.battery, self.rssi, self.power, self.fw = 95, -65, PowerSource.MAINS, "sim-1.0"
        self.commands: list[Command] = []
        self.connects = 0
        self.heartbeats_sent = 0
        self._log = logger or logging.getLogger("simulators.terminal")
        self._limiter = limiter
        self._clean_session = clean_session
        self._keepalive = keepalive
        self._connect_timeout = connect_timeout
        self._reconnect_s = reconnect_s
        self._announce_offline = announce_offline
        self._status = p.status_topic(prefix, device_id)
        self._ack_topic = p.ack_topic(prefix, device_id)
        self._command_topic = p.command_topic(prefix, device_id)
        self._client: aiomqtt.Client | None = None
        self._online = asyncio.Event()
        self._first: asyncio.Future[None] | None = None
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []
        self._acks: collections.OrderedDict[str, Ack] = collections.OrderedDict()
        self._waiters: dict[str, list[asyncio.Future[Ack]]] = {}
        self._command_queue: asyncio.Queue[Command] = asyncio.Queue()

    # ---- lifecycle ------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._first = asyncio.get_running_loop().create_future()
        self._tasks.append(asyncio.create_task(self._run(), name=f"terminal-{self.device_id}"))
        try:
            async with asyncio.timeout(self._connect_timeout):
                await self._first
        except BaseException as exc:
            await self._stop()
            if _login_refused(exc):
                raise LoginRefusedError(
                    f"MQTT broker {self.broker} refused the login of {self.device_id} ({exc})"
                ) from exc
            if isinstance(exc, TimeoutError | aiomqtt.MqttError):
                raise ConnectionError(f"cannot connect to MQTT broker {self.broker}") from exc
            raise
        if self.heartbeat_s:
            self._tasks.append(asyncio.create_task(self._beat(self.heartbeat_s)))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, online = self._client, self._online.is_set()
        self._closing = True
        self._online.clear()  # nothing new is sent from here on
        if client is not None and self._announce_offline and online:
            # a simulated terminal that leaves should not stay `online` in the broker
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(5):
                    await client.publish(
                        self._status, p.encode_status(online=False), qos=1, retain=True
                    )
        await self._stop()

    async def drop(self) -> None:
        """Lose the connection as a power cut would: no DISCONNECT, so the broker
        publishes the last will. The terminal does not reconnect afterwards."""
        self._closing = True
        client = self._client
        # aiomqtt has no public way to drop without DISCONNECT: shut paho's socket down
        sock = client._client.socket() if client is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        await self._stop()

    async def _stop(self) -> None:
        self._closing = True
        self._online.clear()
        tasks, self._tasks = self._tasks, []
        for task in reversed(tasks):  # heartbeats first, the connection last
            # cancel until it ends: Python 3.11's asyncio.wait_for, which aiomqtt uses,
            # can swallow a cancellation that races with its result
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task

    @property
    def online(self) -> bool:
        return self._online.is_set()

    async def _run(self) -> None:
        """Connect, and reconnect after a drop, until closed. A first connection that
        fails is retried until `__aenter__` gives up, unless nobody listens at all."""
        while not self._closing:
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                first = self._first
                refused = _login_refused(exc) or "refused" in str(exc).lower()
                if first is not None and not first.done() and refused:
                    first.set_exception(exc)
                    return
                if self._closing:
                    return
                level = logging.WARNING if self.connects else logging.INFO  # first: retried
                self._log.log(level, "%s: connection lost (%s); retrying", self.device_id, exc)
            self._online.clear()
            self._client = None
            await asyncio.sleep(self._reconnect_s * random.uniform(0.5, 1.5))

    async def _session(self) -> None:
        will = aiomqtt.Will(self._status, p.encode_status(online=False), qos=1, retain=True)
        async with aiomqtt.Client(
            self.host,
            self.port,
            identifier=f"terminal-{self.device_id}",
            username=self.device_id,
            password=self._password,
            tls_context=self._tls,
            protocol=aiomqtt.ProtocolVersion.V311,
            clean_session=self._clean_session,
            will=will,
            keepalive=self._keepalive,
            timeout=self._connect_timeout,
        ) as client:
            self._client = client
            try:
                # the reader runs first, so that a drop during the setup ends it at once
                # (and aiomqtt's disconnect error is consumed, not left unretrieved)
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._read(client))
                    await client.subscribe([(self._ack_topic, 1), (self._command_topic, 1)])
                    online = p.encode_status(online=True)
                    await client.publish(self._status, online, qos=1, retain=True)
                    self.connects += 1
                    self._online.set()
                    if self._first is not None and not self._first.done():
                        self._first.set_result(None)
            except ExceptionGroup as group_error:
                lost = group_error.subgroup(aiomqtt.MqttError)
                if lost is None:
                    raise
                raise lost.exceptions[0] from None

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self._receive(message.topic.value, message.payload)

    def _receive(self, topic: str, payload: object) -> None:
        data = bytes(payload) if isinstance(payload, bytes | bytearray) else str(payload).encode()
        if topic == self._ack_topic:
            ack = p.decode_ack(data)
            if ack is None:
                self._log.warning("%s: unreadable ack %r", self.device_id, data[:200])
                return
            self._acks[ack.event_id] = ack
            self._acks.move_to_end(ack.event_id)
            if len(self._acks) > _ACKS_KEPT:
                self._acks.popitem(last=False)
            for waiter in self._waiters.pop(ack.event_id, []):
                if not waiter.done():
                    waiter.set_result(ack)
        elif topic == self._command_topic:
            command = p.decode_command(data)
            if command is None:
                self._log.warning("%s: unreadable command %r", self.device_id, data[:200])
                return
            self.commands.append(command)
            self._command_queue.put_nowait(command)
        else:
            # amqtt sends every retained message of everybody's subscriptions on connect
            self._log.debug("%s: ignored a message on %s", self.device_id, topic)

    # ---- sending --------------------------------------------------------------------

    async def _publish(self, topic: str, payload: bytes, *, qos: int = 1) -> None:
        """Publish once connected; raises aiomqtt.MqttError if the connection breaks."""
        await self._online.wait()
        client = self._client
        if client is None:
            raise aiomqtt.MqttError("not connected")
        if self._limiter is None:
            await client.publish(topic, payload, qos=qos)
            return
        async with self._limiter:
            await client.publish(topic, payload, qos=qos)

    def make_event(self, type: EventType = EventType.SOS) -> TerminalEvent:  # noqa: A002
        return TerminalEvent(
            device_id=self.device_id,
            event_id=str(uuid.uuid4()),
            type=type,
            ts=datetime.now(UTC).astimezone(),
            battery=self.battery,
            rssi=self.rssi,
        )

    async def press(
        self,
        type: EventType = EventType.SOS,  # noqa: A002
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - the deadline is the caller's, as on a device
        resend_every: float = 2.0,
    ) -> Ack:
        """Send a new event and repeat it until acked; TimeoutError after `timeout`."""
        return await self.send_until_acked(
            self.make_event(type), timeout=timeout, resend_every=resend_every
        )

    async def send_until_acked(
        self,
        event: TerminalEvent,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
        resend_every: float = 2.0,
    ) -> Ack:
        self._acks.pop(event.event_id, None)
        waiter = self._wait(event.event_id)
        payload, topic = p.encode_event(event), p.event_topic(self.prefix, event.device_id)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    try:
                        # a send held up (offline, or its PUBACK lost in a broker restart)
                        # must not keep the terminal from hearing its ack or repeating
                        async with asyncio.timeout(resend_every):
                            await self._publish(topic, payload)
                    except (aiomqtt.MqttError, TimeoutError) as exc:  # repeated, as a device would
                        self._log.info("%s: send failed (%r)", self.device_id, exc)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(resend_every):
                            return await asyncio.shield(waiter)
        finally:
            self._unwait(event.event_id, waiter)

    async def resend(self, event: TerminalEvent) -> None:
        """Send the same event once more (for duplicate tests); see `await_ack`."""
        self._acks.pop(event.event_id, None)
        await self._publish(p.event_topic(self.prefix, event.device_id), p.encode_event(event))

    async def send_raw(self, payload: bytes, *, kind: str = "event", retain: bool = False) -> None:
        """Publish exact bytes on this terminal's `kind` topic, for tests of bad input."""
        self._acks.pop(_event_id_in(payload) or "", None)
        topic = f"{self.prefix}/terminals/{self.device_id}/{kind}"
        await self._online.wait()
        if self._client is None:
            raise aiomqtt.MqttError("not connected")
        await self._client.publish(topic, payload, qos=1, retain=retain)

    async def heartbeat(self) -> None:
        beat = Heartbeat(
            device_id=self.device_id,
            ts=datetime.now(UTC).astimezone(),
            battery=self.battery,
            rssi=self.rssi,
            power=self.power,
            fw=self.fw,
        )
        topic = p.heartbeat_topic(self.prefix, self.device_id)
        await self._publish(topic, p.encode_heartbeat(beat))
        self.heartbeats_sent += 1

    async def _beat(self, period: float) -> None:
        await asyncio.sleep(random.uniform(0, period))  # a fleet must not beat in step
        while not self._closing:
            try:
                await self.heartbeat()
            except aiomqtt.MqttError as exc:
                self._log.info("%s: heartbeat not sent (%s)", self.device_id, exc)
            await asyncio.sleep(period)

    # ---- receiving ------------------------------------------------------------------

    async def await_ack(self, event_id: str, *, timeout: float = 10.0) -> Ack:  # noqa: ASYNC109
        """The latest ack for `event_id` since it was last sent, or the next one."""
        if (ack := self._acks.get(event_id)) is not None:
            return ack
        waiter = self._wait(event_id)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        finally:
            self._unwait(event_id, waiter)

    async def next_command(self, timeout: float | None = 10.0) -> Command:  # noqa: ASYNC109
        """The next command not yet taken; `timeout=None` waits for ever."""
        async with asyncio.timeout(timeout):
            return await self._command_queue.get()

    def _wait(self, event_id: str) -> asyncio.Future[Ack]:
        waiter: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(event_id, []).append(waiter)
        return waiter

    def _unwait(self, event_id: str, waiter: asyncio.Future[Ack]) -> None:
        waiters = self._waiters.get(event_id, [])
        if waiter in waiters:
            waiters.remove(waiter)
        if not waiters:
            self._waiters.pop(event_id, None)
        waiter.cancel()


def _event_id_in(payload: bytes) -> str | None:
    decoded = p.decode(p.event_topic("x", "x"), payload, prefix="x")
    return decoded.event_id if isinstance(decoded, TerminalEvent | Rejection) else None
