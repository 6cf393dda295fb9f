"""The MQTT listener of heartbeats and status messages, on a broker session of its own.

Separate from the events' (`listener.py`) so that a flood of heartbeats queues nowhere
a press does: not at the broker (another session, subscribed at QoS 0 and clean, so
the broker keeps nothing for us while we are away), not here (another queue, which
keeps only the latest message of each topic: `queues.LatestPerTopic`). What is read
goes to the `HeartbeatBatcher`, which writes it once per interval.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from types import TracebackType
from typing import Self, cast

import aiomqtt

from devices import protocol_v1
from devices.events import Heartbeat, Rejection, StatusChange
from dispatcher.clock import Clock
from dispatcher.config import IngestConfig, MqttConfig
from dispatcher.ingest.heartbeats import HeartbeatBatcher
from dispatcher.ingest.mqtt import (
    connect_args,
    liveness_client_id,
    payload_bytes,
    session,
    subscription_filters,
)
from dispatcher.ingest.queues import LatestPerTopic
from dispatcher.metrics import Metrics
from dispatcher.rules.rejections import RepeatLimit, source_of


class LivenessListener:
    """Owns the heartbeats' broker session; an async context manager."""

    def __init__(
        self,
        mqtt: MqttConfig,
        ingest: IngestConfig,
        *,
        clock: Clock,
        heartbeats: HeartbeatBatcher,
        repeats: RepeatLimit,
        metrics: Metrics,
        logger: logging.Logger,
    ) -> None:
        self._mqtt = mqtt
        self._ingest = ingest
        self._clock = clock
        self._heartbeats = heartbeats
        self._repeats = repeats
        self._metrics = metrics
        self._log = logger
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.processed = 0  # messages taken from the queue
        self.replaced = 0  # messages replaced by a later one of their topic while waiting
        self.dropped = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._connection_loop(), name="mqtt-liveness")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # what is still queued is dropped: the next heartbeats bring it again
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _dropped(self, message: aiomqtt.Message) -> None:
        self.dropped += 1
        self._metrics.ingest_dropped.labels("liveness").inc()
        if self.dropped == 1 or self.dropped % 10_000 == 0:
            self._log.warning(
                "liveness queue at %d topics: %d messages of new topics dropped (the "
                "next heartbeat brings them again); the last on %s",
                self._ingest.liveness_topics,
                self.dropped,
                message.topic.value,
            )

    def _replaced(self) -> None:
        # received and superseded by its terminal's next one: counted as received, the
        # later one tells what it told
        self.replaced += 1
        self._metrics.heartbeats.inc()

    async def _connection_loop(self) -> None:
        delay = self._mqtt.reconnect_min_s
        queue_type = cast(
            "type[asyncio.Queue[aiomqtt.Message]]",
            functools.partial(LatestPerTopic, on_drop=self._dropped, on_replace=self._replaced),
        )
        filters = subscription_filters(self._mqtt, protocol_v1.LIVENESS)
        while True:
            try:
                async with session(
                    aiomqtt.Client(
                        **connect_args(self._mqtt, liveness=True),
                        queue_type=queue_type,
                        max_queued_incoming_messages=self._ingest.liveness_topics,
                    )
                ) as client:
                    await client.subscribe([(f, 0) for f in filters])
                    self._connected.set()
                    self._log.info("liveness connected as %s", liveness_client_id(self._mqtt))
                    delay = self._mqtt.reconnect_min_s
                    # each message awaited yields to the loop (aiomqtt waits on a task),
                    # so the events' session is served between any two of these
                    async for message in client.messages:
                        self._take(message)
            except aiomqtt.MqttError as exc:
                self._log.warning("liveness MQTT connection lost (%s); retry in %.1fs", exc, delay)
            except Exception:
                self._log.exception("liveness MQTT connection failed; retry in %.1fs", delay)
            finally:
                self._connected.clear()
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._mqtt.reconnect_max_s)

    def _take(self, message: aiomqtt.Message) -> None:
        now = self._clock.now()
        decoded = protocol_v1.decode(
            message.topic.value, payload_bytes(message), prefix=self._mqtt.topic_prefix
        )
        self.processed += 1
        self._metrics.heartbeats.inc()
        match decoded:
            case Heartbeat() | StatusChange():
                self._heartbeats.report(decoded, now, retained=message.retain)
            case Rejection(device_id=device_id, reason=reason):
                if self._repeats.admit(source_of(device_id), reason, now):
                    self._log.warning("rejected message on %s: %s", decoded.topic, reason)
                    self._heartbeats.rejected(decoded, now)
            case _:
                self._log.warning("ignored an event on %s", message.topic.value)
