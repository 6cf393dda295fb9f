"""The embedded MQTT broker (amqtt), so `dispatcher run` needs nothing installed.

Limits of amqtt, measured (docs/stack-notes.md) and handled here or by the clients:
MQTT 3.1.1 only (no shared subscriptions: one dispatcher process), no offline queue
for anonymous sessions (every client sends a username), QoS 1 near 2,400 msg/s, and
no persistence: presses sent while the process is down are re-sent by the terminals,
which repeat until acknowledged. A city uses Mosquitto (deploy/mosquitto.conf).

It applies the terminal accounts and topic rules of docs/protocol.md, as Mosquitto does with
the files of `dispatcher broker-files` (broker_amqtt.py).
"""

from __future__ import annotations

import logging
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.broker_accounts.logins import BrokerAccounts
from dispatcher.config import MqttConfig
from dispatcher.mqtt.embedded_amqtt import GuardedBroker


class EmbeddedBroker:
    def __init__(
        self,
        mqtt: MqttConfig,
        *,
        sessions: async_sessionmaker[AsyncSession],
        logger: logging.Logger,
    ) -> None:
        self._config = mqtt.embedded
        self._accounts = BrokerAccounts(
            username=mqtt.username,
            password=mqtt.password or "",
            prefix=mqtt.topic_prefix,
            sessions=sessions,
        )
        self._log = logger
        self._broker: Any = None

    def _listeners(self) -> dict[str, Any]:
        config = self._config
        listeners: dict[str, Any] = {
            "default": {
                "type": "tcp",
                "bind": f"{config.host}:{config.port}",
                "max_connections": 20000,
            }
        }
        if config.tls_port is not None:
            listeners["tls"] = {
                "type": "tcp",
                "bind": f"{config.host}:{config.tls_port}",
                "max_connections": 20000,
                "ssl": True,
                "certfile": config.certfile,
                "keyfile": config.keyfile,
            }
        return listeners

    async def __aenter__(self) -> Self:
        plugin = {"accounts": self._accounts}
        self._broker = GuardedBroker(
            {
                "listeners": self._listeners(),
                # a week, like the session expiry we ask of Mosquitto
                "session_expiry_interval": 7 * 24 * 3600,
                "plugins": {
                    "dispatcher.mqtt.embedded_amqtt.AccountsAuthPlugin": plugin,
                },
            },
            accounts=self._accounts,
            logger=self._log,
            max_packet_bytes=self._config.max_packet_bytes,
        )
        await self._broker.start()
        tls = f", TLS on {self._config.tls_port}" if self._config.tls_port is not None else ""
        self._log.info(
            "embedded MQTT broker (amqtt, MQTT 3.1.1) on %s:%d%s",
            self._config.host,
            self._config.port,
            tls,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
