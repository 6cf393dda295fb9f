"""The MQTT listener of terminal events: received, committed, then acknowledged.

Nothing is acknowledged before it is committed: not to the terminal (our ack), not to
the broker (its PUBACK, sent by us once the batch is written: `mqtt.puback`). Until
then the broker keeps its copy, and a crash between receipt and commit loses nothing:
the broker sends it again to our persistent session, where it is answered `duplicate`
if it was written after all. The terminal repeats the event until it gets our ack
(protocol v1) besides.

Only events come this way: heartbeats and status have a broker session and a queue of
their own (`liveness.py`), so that no number of heartbeats can delay a press. The
queues here are bounded (`ingest.queue_size`): aiomqtt's, filled as messages come off
the socket, and ours, from which batches are taken. A broker should send no more than
our in-flight window (MQTT 5 Receive Maximum: two batches) of QoS 1 messages ahead of
our PUBACKs, so that a burst waits at the broker, which persists it; such a press is
never dropped here, even from a broker that sends past the window (Mosquitto 2.0.11
does, once PUBACKs come). Only QoS 0 presses (or the embedded broker, where aiomqtt
answers on receipt, since amqtt waits for each PUBACK before it sends the next) are
dropped when the queues are full (`queues.DropWhenFull`), unacknowledged: their
terminals repeat them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self, cast

import aiomqtt

from devices import protocol_v1
from devices.events import AckResult, Heartbeat, Rejection, StatusChange, TerminalEvent
from dispatcher.clock import Clock
from dispatcher.config import IngestConfig, MqttConfig
from dispatcher.ingest.buffers import DropWhenFull
from dispatcher.ingest.heartbeats import HeartbeatBatcher
from dispatcher.ingest.transaction import BatchResult, Reply
from dispatcher.ingest.writer import BatchWriter
from dispatcher.loops import watched
from dispatcher.metrics import Metrics
from dispatcher.mqtt.connect import (
    connect_args,
    payload_bytes,
    puback,
    puback_when_processed,
    publish_unconfirmed,
    subscription_filters,
)
from dispatcher.mqtt.session import Session
from dispatcher.rules.rejections import RepeatLimit, source_of
from dispatcher.store.changes import Changes

# at shutdown, how long what was received may take to be committed and acknowledged
_DRAIN_S = 10.0


@dataclass(frozen=True, slots=True)
class _Received:
    topic: str
    payload: bytes
    retained: bool  # sent again by the broker at our subscription: not a sign of life
    # the broker's delivery, to be answered once processed (`mqtt.puback`): its id, QoS
    # and the connection it came on (None: answered on receipt already)
    mid: int = 0
    qos: int = 0
    connection: aiomqtt.Client | None = None


class Listener:
    """Owns the events' broker session and the processing loop; an async context manager."""

    def __init__(
        self,
        mqtt: MqttConfig,
        ingest: IngestConfig,
        *,
        writer: BatchWriter,
        clock: Clock,
        heartbeats: HeartbeatBatcher,
        repeats: RepeatLimit,
        metrics: Metrics,
        logger: logging.Logger,
        after_commit: Callable[[Changes], None] | None = None,
    ) -> None:
        self._mqtt = mqtt
        self._ingest = ingest
        self._writer = writer
        self._clock = clock
        self._heartbeats = heartbeats
        self._repeats = repeats
        self._metrics = metrics
        self._log = logger
        self._after_commit = after_commit
        self._queue: asyncio.Queue[_Received] = asyncio.Queue(ingest.queue_size)
        # the broker holds what we answer after the commit: such a press is never dropped
        self._answered_later = not mqtt.is_embedded
        self._session = Session(
            "events",
            mqtt,
            client=self._new_client,
            serve=self._serve,
            logger=logger,
            on_change=lambda up: metrics.mqtt_connected.set(1 if up else 0),
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self.processed = 0
        self.dropped = 0

    @property
    def connected(self) -> bool:
        return self._session.connected

    async def wait_connected(self) -> None:
        await self._session.wait_connected()

    async def publish(self, topic: str, payload: bytes) -> None:
        """Send a command to a terminal; raises (retry later) while the broker is away."""
        client = self._session.client
        if client is None:
            raise ConnectionError("not connected to the MQTT broker")
        await client.publish(topic, payload, qos=1)

    async def __aenter__(self) -> Self:
        self._tasks = [
            watched(self._session.run(), name="mqtt-events"),
            watched(self._process_loop(), name="mqtt-ingest"),
        ]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
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

    def _dropped(self, message: aiomqtt.Message) -> None:
        self.dropped += 1
        self._metrics.ingest_dropped.labels("events").inc()
        if self.dropped == 1 or self.dropped % 1000 == 0:
            self._log.warning(
                "events queue full: %d presses dropped unacknowledged so far (their "
                "terminals repeat them); the last on %s",
                self.dropped,
                message.topic.value,
            )

    def _new_client(self) -> aiomqtt.Client:
        # aiomqtt calls it with maxsize=; typed as a class, it is this class with hooks
        queue_type = cast(
            "type[asyncio.Queue[aiomqtt.Message]]",
            functools.partial(
                DropWhenFull,
                on_drop=self._dropped,
                keep=lambda message: self._answered_later and message.qos > 0,
            ),
        )
        client = aiomqtt.Client(
            **connect_args(self._mqtt, receive_maximum=2 * self._ingest.max_batch),
            queue_type=queue_type,
            max_queued_incoming_messages=self._ingest.queue_size,
        )
        if self._answered_later:
            puback_when_processed(client)
        return client

    async def _serve(self, client: aiomqtt.Client) -> None:
        answers = client if self._answered_later else None
        await client.subscribe(
            [(f, 1) for f in subscription_filters(self._mqtt, protocol_v1.EVENTS)],
        )
        # a session of an older version also took heartbeats and status, and a
        # persistent session keeps its subscriptions: they have a session of their own
        # now (liveness.py)
        await client.unsubscribe(subscription_filters(self._mqtt, protocol_v1.LIVENESS))
        self._session.up(client)
        self._log.info("connected to the MQTT broker as %s", self._mqtt.client_id)
        async for message in client.messages:
            topic, payload = message.topic.value, payload_bytes(message)
            # when ours is full, this waits, and aiomqtt's queue fills
            await self._queue.put(
                _Received(topic, payload, message.retain, message.mid, message.qos, answers)
            )
            self._metrics.ingest_queue.inc()

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
            self._release(batch)

    def _release(self, batch: list[_Received]) -> None:
        """The broker may forget these: committed (or failed for good, then the terminal
        repeats). Those of an earlier connection are sent to us again on the new one."""
        for received in batch:
            connection = received.connection
            if received.qos and connection is not None and connection is self._session.client:
                puback(connection, received.mid, received.qos)

    async def _handle(self, batch: list[_Received]) -> None:
        now = self._clock.now()
        to_log: list[TerminalEvent | Rejection] = []
        # rejections past their terminal's limit: answered, counted, not logged in full
        counted: list[Reply] = []
        for received in batch:
            decoded = protocol_v1.decode(
                received.topic, received.payload, prefix=self._mqtt.topic_prefix
            )
            if isinstance(decoded, TerminalEvent):
                if not received.retained:
                    self._heartbeats.event(decoded, now)
                to_log.append(decoded)
            elif isinstance(decoded, Heartbeat | StatusChange):
                # queued for an older version's session before it let go of them
                self._heartbeats.report(decoded, now, retained=received.retained)
            elif self._repeats.admit(source_of(decoded.device_id), decoded.reason, now):
                self._log.warning("rejected message on %s: %s", decoded.topic, decoded.reason)
                to_log.append(decoded)
            elif decoded.device_id and decoded.event_id:
                counted.append(
                    Reply(decoded.device_id, decoded.event_id, AckResult.REJECTED, decoded.reason)
                )
        result = BatchResult()
        if to_log:
            result = await self._writer.write(to_log, now)
        await self._send_acks([*result.replies, *counted])
        if to_log and self._after_commit is not None:
            self._after_commit(result.changes())
        self.processed += len(batch)

    async def _send_acks(self, replies: list[Reply]) -> None:
        if not replies:
            return
        for reply in replies:
            self._metrics.events.labels(reply.result.value).inc()
        client = self._session.client
        if client is None:
            # the terminals repeat until acknowledged; they will be answered `duplicate`
            self._log.warning("broker gone before %d acks could be sent", len(replies))
            return
        # handed to the session together, not each awaited: an ack not confirmed may be
        # lost (a broker restart); its terminal repeats the event and is answered again
        unsent = [
            reply
            for reply in replies
            if not publish_unconfirmed(
                client,
                protocol_v1.ack_topic(self._mqtt.topic_prefix, reply.device_id),
                protocol_v1.encode_ack(reply.event_id, reply.result, reply.reason),
                qos=1,
            )
        ]
        if unsent:
            self._log.warning(
                "%d acks not sent (connection lost), the first to %s; their terminals "
                "repeat and are answered again",
                len(unsent),
                unsent[0].device_id,
            )
