"""The embedded MQTT broker (amqtt), so `dispatcher run` needs nothing installed.

Limits of amqtt, measured (STACK-NOTES) and handled here or by the clients:
MQTT 3.1.1 only (no shared subscriptions: one dispatcher process), no offline queue
for anonymous sessions (every client sends a username), QoS 1 near 2,400 msg/s, and
no persistence: presses sent while the process is down are re-sent by the terminals,
which repeat until acknowledged. A city uses Mosquitto (deploy/mosquitto.conf).
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Self

from amqtt.broker import Broker

from dispatcher.config import EmbeddedBrokerConfig


class EmbeddedBroker:
    def __init__(self, config: EmbeddedBrokerConfig, *, logger: logging.Logger) -> None:
        self._config = config
        self._log = logger
        self._broker: Any = None

    async def __aenter__(self) -> Self:
        self._broker = Broker(
            {
                "listeners": {
                    "default": {
                        "type": "tcp",
                        "bind": f"{self._config.host}:{self._config.port}",
                        "max_connections": 20000,
                    }
                },
                # a week, like the session expiry we ask of Mosquitto
                "session_expiry_interval": 7 * 24 * 3600,
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
                },
            }
        )
        await self._broker.start()
        self._log.info(
            "embedded MQTT broker (amqtt, MQTT 3.1.1) on %s:%d",
            self._config.host,
            self._config.port,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
