"""The MQTT session of a notifier that has no ingest in its process (`dispatcher run
--roles engine,notifier`): the terminal channel publishes its commands here.

A process with ingest publishes on its events' session (`Listener.publish`). This one
subscribes to nothing, on a clean session of its own, under a client id derived from
`mqtt.client_id` (never a device id, and not the ingest process's: two sessions of one
id throw each other off the broker).
"""

from __future__ import annotations

import logging
from typing import Self

import aiomqtt

from dispatcher.config import MqttConfig
from dispatcher.mqtt.connect import connect_args
from dispatcher.mqtt.session import Session

# a command not confirmed by the broker in this long is retried by the notifier
_PUBLISH_TIMEOUT_S = 5.0


def commands_client_id(mqtt: MqttConfig) -> str:
    return f"{mqtt.client_id}.commands"


class CommandPublisher:
    """An async context manager keeping one publishing session up, reconnecting."""

    def __init__(self, mqtt: MqttConfig, *, logger: logging.Logger) -> None:
        self._mqtt = mqtt
        self._log = logger
        # the clean session of liveness.py's kind: nothing is kept for us while away
        self._args = connect_args(mqtt, liveness=True)
        self._args["identifier"] = commands_client_id(mqtt)
        self._session = Session(
            "commands",
            mqtt,
            client=lambda: aiomqtt.Client(**self._args),
            serve=self._serve,
            logger=logger,
        )

    @property
    def connected(self) -> bool:
        return self._session.connected

    async def publish(self, topic: str, payload: bytes) -> None:
        """Raises (the notifier retries later) while the broker is away."""
        client = self._session.client
        if client is None:
            raise ConnectionError("not connected to the MQTT broker")
        await client.publish(topic, payload, qos=1, timeout=_PUBLISH_TIMEOUT_S)

    async def __aenter__(self) -> Self:
        await self._session.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._session.stop()

    async def _serve(self, client: aiomqtt.Client) -> None:
        self._session.up(client)
        self._log.info("commands connected as %s", self._args["identifier"])
        # nothing is subscribed: this only ends when the connection does
        async for _message in client.messages:
            pass
