"""The accounts and topic rules of docs/protocol.md inside amqtt 0.12.

amqtt asks its auth plugins only after it has looked up the session of the client id in
the CONNECT: a client with a wrong password and someone else's client id has by then
taken that session over (a clean session wipes it, a persistent one gets the newcomer's
will). So `GuardedBroker` reads the CONNECT itself and lets amqtt see it only once the
account is checked, with a terminal's client id replaced by its device id (Mosquitto's
`use_username_as_clientid`): no terminal can take the dispatcher's session or another
terminal's. The auth plugin checks every login again. `dispatcher.broker_accounts.topics`
decides every publish, subscription and delivery, retained messages included (amqtt
sends those without asking). The private amqtt names used here are pinned by
`amqtt<0.13` in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amqtt.adapters import BufferReader, ReaderAdapter, StreamReaderAdapter, StreamWriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.mqtt.connect import ConnectPacket
from amqtt.mqtt.packet import CONNECT, MQTTFixedHeader
from amqtt.plugins.base import BaseAuthPlugin

from dispatcher.broker_accounts.logins import BrokerAccounts
from dispatcher.broker_accounts.topics import (
    DispatcherLogin,
    TerminalLogin,
    may_publish,
    may_receive,
    may_subscribe,
)

# a client that has not sent its CONNECT by then is dropped
_CONNECT_WITHIN_S = 10.0
# a CONNECT carries a client id, a will, a username and a password: a few hundred bytes
_MAX_CONNECT_BYTES = 16 * 1024
# the name of the TLS listener for terminals in the field (broker.py)
_FIELD_LISTENER = "tls"
# CONNACK return codes of MQTT 3.1.1
_UNACCEPTABLE_PROTOCOL, _SERVER_UNAVAILABLE, _NOT_AUTHORIZED = 1, 3, 5


class _Replay(ReaderAdapter):  # type: ignore[misc]
    """The rewritten CONNECT first, then the rest of the connection as it comes."""

    def __init__(self, first: bytes, rest: ReaderAdapter) -> None:
        self._pending = first
        self._rest = rest

    async def read(self, n: int = -1) -> bytes:
        if not self._pending:
            return bytes(await self._rest.read(n))
        if 0 <= n <= len(self._pending):
            data, self._pending = self._pending[:n], self._pending[n:]
            return data
        data, self._pending = self._pending, b""
        return data + bytes(await self._rest.read(-1 if n < 0 else n - len(data)))

    def feed_eof(self) -> None:
        self._rest.feed_eof()


class _PacketLimit(ReaderAdapter):  # type: ignore[misc]
    """The connection's bytes as amqtt reads them, the MQTT framing followed: at the
    fixed header of a packet larger than `max_bytes` (header included, as Mosquitto's
    max_packet_size counts), the connection ends, before a byte of its body is read.

    amqtt reads each header a byte at a time, then the body in parts, each part read
    whole into memory (`readexactly`): only the header may tell the size in time."""

    def __init__(self, rest: ReaderAdapter, max_bytes: int, on_over: Callable[[int], None]) -> None:
        self._rest = rest
        self._max = max_bytes
        self._on_over = on_over
        self._body_left = 0  # of the packet being read
        self._header: list[int] = []  # its fixed header so far
        self.closed = False

    async def read(self, n: int = -1) -> bytes:
        if self.closed:
            return b""
        data = bytes(await self._rest.read(n))
        cut = self._scan(data)
        if cut is None:
            return data
        self.closed = True
        return data[:cut]  # short: amqtt takes it as the end of the connection

    def _scan(self, data: bytes) -> int | None:
        """Follow the framing over `data`: where the header of a packet over the limit
        starts, or None."""
        index = 0
        while index < len(data):
            if self._body_left:
                taken = min(self._body_left, len(data) - index)
                self._body_left -= taken
                index += taken
            elif self._take_header_byte(data[index]):
                return index
            else:
                index += 1
        return None

    def _take_header_byte(self, byte: int) -> bool:
        """True when this byte completes the header of a packet over the limit."""
        header = self._header
        header.append(byte)
        if len(header) == 1 or byte & 0x80:
            return False
        length = sum((b & 0x7F) << (7 * i) for i, b in enumerate(header[1:]))
        size = len(header) + length
        self._header = []
        if size > self._max:
            self._on_over(size)
            return True
        self._body_left = length
        return False

    def feed_eof(self) -> None:
        self._rest.feed_eof()


class GuardedBroker(Broker):  # type: ignore[misc]
    def __init__(
        self,
        config: dict[str, Any],
        *,
        accounts: BrokerAccounts,
        logger: logging.Logger,
        max_packet_bytes: int,
    ) -> None:
        super().__init__(config)
        self._accounts = accounts
        self._log = logger
        self._max_packet_bytes = max_packet_bytes

    async def stream_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
    ) -> None:
        stream, out = StreamReaderAdapter(reader), StreamWriterAdapter(writer)
        try:
            async with asyncio.timeout(_CONNECT_WITHIN_S):
                connect = await _read_connect(stream)
        except Exception as exc:  # whatever a client sends must not reach amqtt unchecked
            self._log.info("dropped a connection before its CONNECT was read: %r", exc)
            await _close(out)
            return
        code = await self._admit(connect, listener_name)
        if code:
            out.write(bytes([0x20, 0x02, 0x00, code]))  # CONNACK: refused, and why
            await _close(out)
            return
        username = connect.username

        def over(size: int) -> None:
            self._log.warning(
                "closed the connection of %r: a packet of %d bytes, over the limit of %d "
                "(mqtt.embedded.max_packet_bytes)",
                username,
                size,
                self._max_packet_bytes,
            )

        reader = _PacketLimit(_Replay(connect.to_bytes(), stream), self._max_packet_bytes, over)
        await self.external_connected(reader, out, listener_name)

    async def _admit(self, connect: Any, listener_name: str) -> int:
        """0 when the CONNECT may go on (its client id fixed for a terminal), else the
        CONNACK return code that refuses it. The TLS listener is the field's: the
        dispatcher's account, which reads every terminal, is refused there (as it is
        absent from Mosquitto's password file of the terminals' listener)."""
        if connect.proto_name != "MQTT" or connect.proto_level != 4:
            return _UNACCEPTABLE_PROTOCOL
        try:
            login = await self._accounts.login(connect.username, connect.password)
        except Exception:
            self._log.exception("MQTT login of %r not checked", connect.username)
            return _SERVER_UNAVAILABLE
        prefix = self._accounts.prefix
        if (
            login is None
            or (isinstance(login, DispatcherLogin) and listener_name == _FIELD_LISTENER)
            or (
                connect.will_flag
                and not may_publish(login, connect.will_topic or "", prefix=prefix)
            )
        ):
            self._log.info("refused MQTT login of %r", connect.username)
            return _NOT_AUTHORIZED
        if isinstance(login, TerminalLogin):
            connect.payload.client_id = login.device_id
            connect.payload.client_id_is_random = False
        return 0

    async def _topic_filtering(self, session: Any, topic: str, action: Any) -> bool:
        # In place of a topic plugin: amqtt runs plugins as tasks, and awaiting them inside
        # `_run_broadcast`'s loop over the subscriptions lets a client subscribe meanwhile,
        # which fails the loop and drops the message (measured: a demo fleet connecting
        # lost broadcasts). The rules are pure, so they are asked without yielding.
        return self._allowed(session, topic, action)

    def _allowed(self, session: Any, topic: str, action: Any) -> bool:
        login = self._accounts.login_of(session.username) if session is not None else None
        if login is None:
            return False
        prefix = self._accounts.prefix
        if action == Action.PUBLISH:
            return may_publish(login, topic, prefix=prefix)
        if action == Action.SUBSCRIBE:
            return may_subscribe(login, topic, prefix=prefix)
        if action == Action.RECEIVE:
            return may_receive(login, topic, prefix=prefix)
        return False

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Any
    ) -> None:
        # amqtt sends these without asking `_topic_filtering`, and on each connect for the
        # filters of every client: send only what this login may receive
        topic_filter, qos = subscription
        handler = self._get_handler(session)
        if handler is None:
            return
        sends = [
            asyncio.ensure_future(
                handler.mqtt_publish(topic, kept.data, min(qos, kept.qos or qos), retain=True)
            )
            for topic, kept in list(self._retained_messages.items())
            if self._matches(topic, topic_filter) and self._allowed(session, topic, Action.RECEIVE)
        ]
        if sends:
            await asyncio.wait(sends)


async def _close(out: StreamWriterAdapter) -> None:
    with contextlib.suppress(Exception):
        await out.close()


async def _read_connect(stream: ReaderAdapter) -> Any:
    """The first packet, which must be a CONNECT of reasonable size, parsed by amqtt."""
    fixed = await MQTTFixedHeader.from_stream(stream)
    if fixed is None or fixed.packet_type != CONNECT:
        raise ValueError("the first packet is not a CONNECT")
    if fixed.remaining_length > _MAX_CONNECT_BYTES:
        raise ValueError(f"a CONNECT of {fixed.remaining_length} bytes")
    body = await stream.read(fixed.remaining_length)
    return await ConnectPacket.from_stream(BufferReader(body), fixed_header=fixed)


class AccountsAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """Every login checked again, and a terminal's client id must be its device id."""

    @dataclass
    class Config:
        accounts: Any = None

    async def authenticate(self, *, session: Any) -> bool:
        accounts: BrokerAccounts = self.config.accounts
        login = await accounts.login(session.username, session.password)
        match login:
            case DispatcherLogin():
                return True
            case TerminalLogin(device_id=device_id):
                return bool(session.client_id == device_id)
            case None:
                return False
