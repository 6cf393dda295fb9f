"""One reconnecting MQTT session, the same for each of the dispatcher's: the terminal
events' (`ingest.listener`), the heartbeats' (`ingest.liveness`) and a notifier-only
process's commands (`mqtt.commands`). Each says how to make its client and what to do
while connected; this keeps the session up.

A lost or refused connection is logged as a warning and retried with exponential
backoff from `mqtt.reconnect_min_s` to `mqtt.reconnect_max_s`, with jitter so that a
fleet of dispatchers does not reconnect in lockstep; anything else that goes wrong is
logged with its traceback and retried the same way: the session never dies but when
it is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Self

import aiomqtt

from dispatcher.config import MqttConfig
from dispatcher.loops import watched
from dispatcher.mqtt.connect import session


class Session:
    def __init__(
        self,
        name: str,
        mqtt: MqttConfig,
        *,
        client: Callable[[], aiomqtt.Client],
        serve: Callable[[aiomqtt.Client], Awaitable[None]],
        logger: logging.Logger,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        """`client` makes a new client for each connection; `serve(client)` runs while it
        is connected and returns or raises when the connection ends; `on_change(up)` is
        told when it comes up (after `serve` subscribed) and goes down."""
        self.name = name
        self._mqtt = mqtt
        self._make = client
        self._serve = serve
        self._log = logger
        self._on_change = on_change
        self.client: aiomqtt.Client | None = None
        self._up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connections = 0

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    async def wait_connected(self) -> None:
        await self._up.wait()

    def up(self, client: aiomqtt.Client) -> None:
        """Called by `serve` once it subscribed: the session is of use from now on."""
        self.client = client
        self._up.set()
        self.connections += 1
        if self._on_change is not None:
            self._on_change(True)

    async def __aenter__(self) -> Self:
        self._task = watched(self.run(), name=f"mqtt-{self.name}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        delay = self._mqtt.reconnect_min_s
        while True:
            try:
                # `session` reads why the connection ended (or asyncio logs "Future
                # exception was never retrieved" at a broker restart)
                async with session(self._make()) as client:
                    delay = self._mqtt.reconnect_min_s
                    await self._serve(client)
            except aiomqtt.MqttError as exc:
                self._log.warning(
                    "%s: MQTT connection lost or refused (%s); retry in %.1fs",
                    self.name,
                    exc,
                    delay,
                )
            except Exception:
                # whatever it was, the session must not die: log it and reconnect
                self._log.exception("%s: MQTT session failed; retry in %.1fs", self.name, delay)
            finally:
                was_up = self._up.is_set()
                self.client = None
                self._up.clear()
                if was_up and self._on_change is not None:
                    self._on_change(False)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._mqtt.reconnect_max_s)
