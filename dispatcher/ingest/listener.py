"""The MQTT listener: terminal messages in, committed, then acknowledged.

Nothing is acknowledged to a terminal before it is committed. aiomqtt answers the
broker's QoS 1 on receipt, so a crash between receipt and commit loses the broker's
copy; the terminal then repeats the event until it gets our ack (protocol v1), which
is what makes the path lossless.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Self

import aiomqtt
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devices import protocol_v1
from devices.events import Heartbeat, Rejection, StatusChange, TerminalEvent
from dispatcher.clock import Clock
from dispatcher.config import IngestConfig, MqttConfig
from dispatcher.ingest.heartbeats import HeartbeatBatcher
from dispatcher.ingest.mqtt import connect_args, subscription_filters
from dispatcher.metrics import Metrics
from dispatcher.store.ingest import BatchResult, Reply, record_batch

# a database outage is retried this many times before a batch is given up; the
# terminals repeat what was not acknowledged, so giving up loses nothing of theirs
_DB_ATTEMPTS = 6
# at shutdown, how long what was received may take to be committed and acknowledged
_DRAIN_S = 10.0


@dataclass(frozen=True, slots=True)
class _Received:
    topic: str
    payload: bytes


class Listener:
    """Owns the broker connection and the processing loop; an async context manager."""

    def __init__(
        self,
        mqtt: MqttConfig,
        ingest: IngestConfig,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        heartbeats: HeartbeatBatcher,
        metrics: Metrics,
        cancel_closes_emergency: bool,
        logger: logging.Logger,
        on_batch: Callable[[BatchResult], None] | None = None,
        tell_contacts: bool = True,
    ) -> None:
        self._mqtt = mqtt
        self._ingest = ingest
        self._sessions = sessions
        self._clock = clock
        self._heartbeats = heartbeats
        self._metrics = metrics
        self._cancel_closes = cancel_closes_emergency
        self._tell_contacts = tell_contacts
        self._log = logger
        self._on_batch = on_batch
        # unbounded on purpose: a full queue would drop presses (STACK-NOTES)
        self._queue: asyncio.Queue[_Received] = asyncio.Queue()
        self._client: aiomqtt.Client | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = asyncio.Event()
        self._idle = asyncio.Event()
        self.processed = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def publish(self, topic: str, payload: bytes) -> None:
        """Send a command to a terminal; raises (retry later) while the broker is away."""
        client = self._client
        if client is None:
            raise ConnectionError("not connected to the MQTT broker")
        await client.publish(topic, payload, qos=1)

    async def __aenter__(self) -> Self:
        self._tasks = [
            asyncio.create_task(self._connection_loop(), name="mqtt-connection"),
            asyncio.create_task(self._process_loop(), name="mqtt-ingest"),
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # finish what was received while still connected, so its acks go out; then
        # disconnect: the broker keeps our session for what comes meanwhile
        connection, processor = self._tasks
        try:
            async with asyncio.timeout(_DRAIN_S):
                while True:
                    await self._idle.wait()
                    if self._queue.empty():
                        break
                    await asyncio.sleep(0)  # the processor takes the next batch
        except TimeoutError:
            self._log.warning("ingest not drained in %.0f s at shutdown", _DRAIN_S)
        processor.cancel()
        await asyncio.gather(processor, return_exceptions=True)
        connection.cancel()
        await asyncio.gather(connection, return_exceptions=True)
        leftover = self._drain()
        if leftover:
            self._log.info("processing %d messages left at shutdown", len(leftover))
            await self._handle(leftover)
        self._tasks = []

    # -- receiving ---------------------------------------------------------------------

    async def _connection_loop(self) -> None:
        delay = self._mqtt.reconnect_min_s
        while True:
            try:
                async with aiomqtt.Client(**connect_args(self._mqtt)) as client:
                    # a batch's acks await their PUBACKs together: no warning past 10
                    client.pending_calls_threshold = self._ingest.max_batch + 100
                    await client.subscribe(
                        [(f, 1) for f in subscription_filters(self._mqtt)],
                    )
                    self._client = client
                    self._connected.set()
                    self._metrics.mqtt_connected.set(1)
                    self._log.info("connected to the MQTT broker as %s", self._mqtt.client_id)
                    delay = self._mqtt.reconnect_min_s
                    async for message in client.messages:
                        self._queue.put_nowait(_Received(message.topic.value, _bytes(message)))
                        self._metrics.ingest_queue.inc()
            except aiomqtt.MqttError as exc:
                self._log.warning(
                    "MQTT connection lost or refused (%s); retry in %.1fs", exc, delay
                )
            except Exception:
                # whatever it was, the listener must not die: log it and reconnect
                self._log.exception("MQTT connection failed; retry in %.1fs", delay)
            finally:
                self._client = None
                self._connected.clear()
                self._metrics.mqtt_connected.set(0)
            # jitter, so a fleet of dispatchers does not reconnect in lockstep
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._mqtt.reconnect_max_s)

    # -- processing --------------------------------------------------------------------

    def _drain(self, limit: int | None = None) -> list[_Received]:
        batch: list[_Received] = []
        while not self._queue.empty() and (limit is None or len(batch) < limit):
            batch.append(self._queue.get_nowait())
        self._metrics.ingest_queue.dec(len(batch))
        return batch

    async def _process_loop(self) -> None:
        while True:
            self._idle.set()
            first = await self._queue.get()
            self._idle.clear()
            self._metrics.ingest_queue.dec()
            if self._ingest.batch_window_s > 0 and self._queue.empty():
                await asyncio.sleep(self._ingest.batch_window_s)
            batch = [first, *self._drain(self._ingest.max_batch - 1)]
            try:
                await self._handle(batch)
            except Exception:
                self._log.exception(
                    "a batch of %d messages failed; terminals will repeat", len(batch)
                )

    async def _handle(self, batch: list[_Received]) -> None:
        now = self._clock.now()
        to_log: list[TerminalEvent | Rejection] = []
        for received in batch:
            decoded = protocol_v1.decode(
                received.topic, received.payload, prefix=self._mqtt.topic_prefix
            )
            if isinstance(decoded, Heartbeat):
                self._heartbeats.heartbeat(decoded, now)
                self._metrics.heartbeats.inc()
            elif isinstance(decoded, StatusChange):
                self._heartbeats.status(decoded, now)
                self._metrics.heartbeats.inc()
            else:
                if isinstance(decoded, TerminalEvent):
                    self._heartbeats.event(decoded, now)
                else:
                    self._log.warning("rejected message on %s: %s", decoded.topic, decoded.reason)
                to_log.append(decoded)
        if to_log:
            result = await self._commit(to_log, now)
            await self._send_acks(result.replies)
            if self._on_batch is not None:
                self._on_batch(result)
        self.processed += len(batch)

    async def _commit(self, items: list[TerminalEvent | Rejection], now: datetime) -> BatchResult:
        started = time.perf_counter()
        delay = 0.2
        for attempt in range(1, _DB_ATTEMPTS + 1):
            try:
                async with self._sessions.begin() as session:
                    result = await record_batch(
                        session,
                        items,
                        now=now,
                        cancel_closes_emergency=self._cancel_closes,
                        tell_contacts_on_close=self._tell_contacts,
                    )
            except IntegrityError:
                # another dispatcher logged one of these events first: go one by one
                return await self._commit_one_by_one(items, now)
            except Exception:
                if attempt == _DB_ATTEMPTS:
                    raise
                self._log.exception("database write failed (attempt %d); retrying", attempt)
                await asyncio.sleep(delay)
                delay *= 2
            else:
                self._metrics.ingest_batch_seconds.observe(time.perf_counter() - started)
                return result
        raise AssertionError("unreachable")

    async def _commit_one_by_one(
        self, items: list[TerminalEvent | Rejection], now: datetime
    ) -> BatchResult:
        merged = BatchResult()
        for item in items:
            for _ in range(2):  # a lost race on the unique index means: now a duplicate
                try:
                    async with self._sessions.begin() as session:
                        one = await record_batch(
                            session,
                            [item],
                            now=now,
                            cancel_closes_emergency=self._cancel_closes,
                            tell_contacts_on_close=self._tell_contacts,
                        )
                    break
                except IntegrityError:
                    continue
            else:
                continue
            merged.replies += one.replies
            merged.opened += one.opened
            merged.changed += one.changed
            merged.opened_kinds |= one.opened_kinds
            merged.closed += one.closed
            merged.power_changed |= one.power_changed
        return merged

    async def _send_acks(self, replies: list[Reply]) -> None:
        for reply in replies:
            self._metrics.events.labels(reply.result.value).inc()
        client = self._client
        if client is None:
            # the terminals repeat until acknowledged; they will be answered `duplicate`
            self._log.warning("broker gone before %d acks could be sent", len(replies))
            return
        # all at once: one at a time waits for the PUBACK, a turn of the event loop, per ack
        sent = await asyncio.gather(
            *(
                client.publish(
                    protocol_v1.ack_topic(self._mqtt.topic_prefix, reply.device_id),
                    protocol_v1.encode_ack(reply.event_id, reply.result, reply.reason),
                    qos=1,
                )
                for reply in replies
            ),
            return_exceptions=True,
        )
        for reply, outcome in zip(replies, sent, strict=True):
            if isinstance(outcome, Exception):
                self._log.warning("ack to %s not sent: %r", reply.device_id, outcome)


def _bytes(message: aiomqtt.Message) -> bytes:
    payload = message.payload
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode()
