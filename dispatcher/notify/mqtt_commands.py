"""The MQTT session of a notifier that has no ingest in its process (`dispatcher run
--roles engine,notifier`): the terminal channel publishes its commands here.

A process with ingest publishes on its events' session (`Listener.publish`). This one
subscribes to nothing, on a clean session of its own, under a client id derived from
`mqtt.client_id` (never a device id, and not the ingest process's: two sessions of one
id throw each other off the broker).
"""

from __future__ import annotations

import asyncio
import logging
import random
from types import TracebackType
from typing import Self

import aiomqtt

from dispatcher.config import MqttConfig
from dispatcher.ingest.mqtt import connect_args, session

# a command not confirmed by the broker in this long is retried by the notifier
_PUBLISH_TIMEOUT_S = 5.0


def commands_client_id(mqtt: MqttConfig) -> str:
    return f"{mqtt.client_id}.commands"


class CommandPublisher:
    """An async context manager keeping one publishing session up, reconnecting."""

    def __init__(self, mqtt: MqttConfig, *, logger: logging.Logger) -> None:
        self._mqtt = mqtt
        self._log = logger
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def publish(self, topic: str, payload: bytes) -> None:
        """Raises (the notifier retries later) while the broker is away."""
        client = self._client
        if client is None:
            raise ConnectionError("not connected to the MQTT broker")
        await client.publish(topic, payload, qos=1, timeout=_PUBLISH_TIMEOUT_S)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._connection_loop(), name="mqtt-commands")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _connection_loop(self) -> None:
        delay = self._mqtt.reconnect_min_s
        # the clean session of liveness.py's kind: nothing is kept for us while away
        args = connect_args(self._mqtt, liveness=True)
        args["identifier"] = commands_client_id(self._mqtt)
        while True:
            try:
                async with session(aiomqtt.Client(**args)) as client:
                    self._client = client
                    self._log.info("commands connected as %s", args["identifier"])
                    delay = self._mqtt.reconnect_min_s
                    # nothing is subscribed: this only ends when the connection does
                    async for _message in client.messages:
                        pass
            except aiomqtt.MqttError as exc:
                self._log.warning("commands MQTT connection lost (%s); retry in %.1fs", exc, delay)
            except Exception:
                self._log.exception("commands MQTT connection failed; retry in %.1fs", delay)
            finally:
                self._client = None
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._mqtt.reconnect_max_s)
