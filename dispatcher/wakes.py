"""Wake-ups between the processes of a service split by roles (`dispatcher run
--roles`), on PostgreSQL: LISTEN/NOTIFY on one channel.

In one process, ingest wakes the escalation engine when it opens an alarm, the engine
wakes the notifier when it queues messages, an operator's action wakes both: plain
calls. When the engine or the notifier runs in another process, the wake-up for it is
sent as a NOTIFY naming the roles to wake, after the change committed (so whoever hears
it reads the change); every process with an engine or a notifier LISTENs, and wakes its
own. Several wake-ups while one NOTIFY is under way go out as one: at most one per
ingest batch, never one per event. A NOTIFY lost with a connection costs only time: the
loops still look every `poll_s`, and after a reconnect they look at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import asyncpg
from sqlalchemy.engine import make_url

CHANNEL: Final = "dispatcher_wake"
_PING_S: Final = 30.0
_SEND_TIMEOUT_S: Final = 5.0


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class WakeBus:
    def __init__(
        self,
        url: str,
        *,
        local: Mapping[str, Callable[[], None]],
        logger: logging.Logger,
        backoff_max_s: float = 10.0,
    ) -> None:
        self._dsn = _dsn(url)
        # the loops of this process, by role: woken when another process names them
        self._local = dict(local)
        self._log = logger
        self._backoff_max_s = backoff_max_s
        self._pending: set[str] = set()
        self._stir = asyncio.Event()
        self.connected = asyncio.Event()
        self.sent = 0  # NOTIFYs sent
        self.heard = 0  # wake-ups of a local loop by another process
        self.connections = 0

    def notify(self, roles: Iterable[str]) -> None:
        """Wake these roles in the other processes, as soon as the connection allows."""
        self._pending.update(roles)
        self._stir.set()

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        for role in payload.split(","):
            wake = self._local.get(role)
            if wake is not None:
                self.heard += 1
                wake()

    def _wake_all_local(self) -> None:
        for wake in self._local.values():
            wake()

    async def run(self) -> None:
        """Listen and send until cancelled; reconnect with backoff when the connection
        is lost (a database restart)."""
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
                if self._local:
                    await conn.add_listener(CHANNEL, self._heard)
                self.connections += 1
                self.connected.set()
                backoff = 0.5
                # whatever was sent while we were away was not heard: look now
                self._wake_all_local()
                await self._serve(conn, lost)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._log.warning("wake-up connection lost (%r); the loops poll meanwhile", exc)
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._backoff_max_s)

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
            if self._pending:
                roles = sorted(self._pending)
                self._pending.clear()
                try:
                    async with asyncio.timeout(_SEND_TIMEOUT_S):
                        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, ",".join(roles))
                except BaseException:
                    self._pending.update(roles)  # sent after the reconnect
                    raise
                self.sent += 1
            elif not stirred:
                async with asyncio.timeout(_SEND_TIMEOUT_S):
                    await conn.fetchval("SELECT 1")  # a half-open socket shows here
