"""One PostgreSQL connection per process for LISTEN/NOTIFY, on named channels: the
wake-ups between the processes of a city (`dispatcher.wakes`) and the dashboards' live
feed (`dispatcher.web.live_sources`) share it.

A NOTIFY is sent after the change it announces committed, so whoever hears it reads the
change. What cannot be sent now (no connection: a database restart) waits in a bounded
queue and goes after the reconnect; identical messages waiting together go once. A
NOTIFY lost anyway costs only time: the engine's and the notifier's loops and the live
follower poll, and each listener is told when a new connection starts, to look at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import asyncpg
from sqlalchemy.engine import make_url

_PING_S: Final = 30.0
_SEND_TIMEOUT_S: Final = 5.0
_MAX_WAITING: Final = 1000


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class _Listener:
    heard: Callable[[str], None]
    connected: Callable[[], None] | None


class PgBus:
    def __init__(self, url: str, *, logger: logging.Logger, backoff_max_s: float = 10.0) -> None:
        self._dsn = _dsn(url)
        self._log = logger
        self._backoff_max_s = backoff_max_s
        self._listeners: dict[str, _Listener] = {}
        self._listening: set[str] = set()  # channels LISTENed on the current connection
        self._waiting: dict[tuple[str, str], None] = {}  # ordered, identical ones once
        self._stir = asyncio.Event()
        self.connected = asyncio.Event()
        self.connections = 0
        self.sent = 0
        self.dropped = 0

    def listen(
        self,
        channel: str,
        heard: Callable[[str], None],
        *,
        connected: Callable[[], None] | None = None,
    ) -> None:
        """Call `heard(payload)` for each NOTIFY on `channel`, and `connected()` at each new
        connection (whatever was sent meanwhile was not heard)."""
        self._listeners[channel] = _Listener(heard, connected)
        self._stir.set()

    def send(self, channel: str, payload: str) -> None:
        """NOTIFY as soon as the connection allows."""
        if len(self._waiting) >= _MAX_WAITING:
            self._waiting.pop(next(iter(self._waiting)))
            self.dropped += 1
        self._waiting[(channel, payload)] = None
        self._stir.set()

    def _heard(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        listener = self._listeners.get(channel)
        if listener is None:
            return
        try:
            listener.heard(payload)
        except Exception:
            self._log.exception("a listener of %s failed on %.200r", channel, payload)

    async def run(self) -> None:
        """Listen and send until cancelled; reconnect with backoff and jitter when the
        connection is lost (a database restart)."""
        backoff = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()

                def _terminated(_c: Any, lost: asyncio.Event = lost) -> None:
                    lost.set()
                    self._stir.set()

                conn.add_termination_listener(_terminated)
                self._listening = set()
                await self._listen_all(conn)
                self.connections += 1
                self.connected.set()
                backoff = 0.5
                for listener in list(self._listeners.values()):
                    if listener.connected is not None:
                        listener.connected()
                await self._serve(conn, lost)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._log.warning("LISTEN/NOTIFY connection lost (%r); reconnecting", exc)
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
            backoff = min(backoff * 2, self._backoff_max_s)

    async def _listen_all(self, conn: asyncpg.Connection) -> None:
        for channel in list(self._listeners.keys() - self._listening):
            await conn.add_listener(channel, self._heard)
            self._listening.add(channel)

    async def _serve(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        while True:
            stirred = True
            try:
                async with asyncio.timeout(_PING_S):
                    await self._stir.wait()
            except TimeoutError:
                stirred = False
            self._stir.clear()
            if lost.is_set():
                raise ConnectionError("the database closed the connection")
            new = self._listeners.keys() - self._listening
            if new:
                await self._listen_all(conn)
                for channel in new:
                    connected = self._listeners[channel].connected
                    if connected is not None:
                        connected()
            if self._waiting:
                async with asyncio.timeout(_SEND_TIMEOUT_S):
                    while self._waiting:
                        channel, payload = next(iter(self._waiting))
                        # taken off only once sent: a failure leaves it for the reconnect
                        await conn.execute("SELECT pg_notify($1, $2)", channel, payload)
                        self._waiting.pop((channel, payload), None)
                        self.sent += 1
            elif not stirred:
                async with asyncio.timeout(_SEND_TIMEOUT_S):
                    await conn.fetchval("SELECT 1")  # a half-open socket shows here
