"""A bare MQTT peer for tests: publishes exact bytes, collects what comes back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt


class RawPeer:
    """Sends exactly the given payloads as a terminal would, and reads its acks."""

    def __init__(self, client: aiomqtt.Client, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self.acks: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.commands: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def publish(
        self, device_id: str, kind: str, payload: bytes | str, *, retain: bool = False
    ) -> None:
        await self._client.publish(
            f"{self._prefix}/terminals/{device_id}/{kind}", payload, qos=1, retain=retain
        )

    async def next_ack(self, within: float = 10.0) -> tuple[str, dict[str, Any]]:
        """(device_id, ack body) of the next ack on any terminal."""
        async with asyncio.timeout(within):
            return await self.acks.get()

    async def next_command(self, within: float = 10.0) -> tuple[str, dict[str, Any]]:
        async with asyncio.timeout(within):
            return await self.commands.get()

    async def pump(self) -> None:
        async for message in self._client.messages:
            parts = message.topic.value.split("/")
            payload = message.payload
            assert isinstance(payload, bytes | bytearray)
            queue = self.acks if parts[-1] == "ack" else self.commands
            queue.put_nowait((parts[-2], json.loads(payload)))


@contextlib.asynccontextmanager
async def raw_peer(
    broker: tuple[str, int],
    prefix: str,
    *,
    login: tuple[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[RawPeer]:
    """Without `login`, an anonymous peer that speaks for every terminal (the machine's
    Mosquitto allows it). With `login` (device_id, password), that terminal's account:
    it reads only its own ack and command, as the broker's rules demand."""
    username, password = login if login is not None else ("raw", None)
    device = login[0] if login is not None else "+"
    async with aiomqtt.Client(
        broker[0],
        broker[1],
        identifier=f"raw-{uuid.uuid4().hex[:8]}",
        username=username,
        password=password,
        tls_context=tls,
    ) as client:
        await client.subscribe(f"{prefix}/terminals/{device}/ack", qos=1)
        await client.subscribe(f"{prefix}/terminals/{device}/command", qos=1)
        peer = RawPeer(client, prefix)
        pump = asyncio.create_task(peer.pump())
        try:
            yield peer
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await pump


def event(event_id: str | None = None, type_: str = "sos", **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "v": 1,
        "event_id": event_id or uuid.uuid4().hex,
        "type": type_,
        "ts": "2026-11-27T03:00:00+08:00",
        "battery": 87,
        "rssi": -71,
    }
    body.update(extra)
    return json.dumps(body).encode()


async def wait_for(predicate: Any, *, within: float = 10.0, interval: float = 0.02) -> Any:
    """Poll an async or plain predicate until it returns something truthy, or fail."""
    async with asyncio.timeout(within):
        while True:
            result = predicate()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(interval)
