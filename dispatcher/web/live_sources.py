"""Where the live hub hears of changes it was not told about directly.

- `PgBus` (PostgreSQL only): LISTEN/NOTIFY between the processes of a city, so an alarm
  taken on one process, or a press ingested by another, reaches every screen at once.
  Only ids travel; each process reads the state itself from the shared database.
- `Follower` (both databases): once a second, the revision of every unresolved alarm
  and the set of terminals in trouble, compared with the last look. It catches what
  has no hook (the engine's steps, delivery reports) and whatever a lost NOTIFY missed,
  as the engine's own poll catches alarms of other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Final

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from dispatcher.store import queue
from dispatcher.store import terminals as terminal_store
from dispatcher.web.live_hub import Hub

log = logging.getLogger("dispatcher.web.live")

CHANNEL: Final = "dispatcher_live"
_MAX_PAYLOAD: Final = 7000  # NOTIFY payloads must stay under 8000 bytes
_PING_S: Final = 30.0
POLL_S = 1.0  # how often the follower looks (tests of NOTIFY slow it down)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _payloads(origin: str, alarm_ids: set[int], device_ids: set[str]) -> list[str]:
    """Announcements small enough for NOTIFY, each naming a share of the ids."""
    result: list[str] = []
    alarms, devices = sorted(alarm_ids), sorted(device_ids)
    while alarms or devices:
        take_a, take_d = alarms[:500], devices[:200]
        alarms, devices = alarms[500:], devices[200:]
        result.append(json.dumps({"origin": origin, "alarms": take_a, "terminals": take_d}))
    return [p for p in result if len(p) <= _MAX_PAYLOAD]


class PgBus:
    def __init__(self, hub: Hub, url: str) -> None:
        self._hub = hub
        self._dsn = _dsn(url)
        self._conn: asyncpg.Connection | None = None
        self.connected = asyncio.Event()

    async def announce(self, alarm_ids: set[int], device_ids: set[str]) -> None:
        conn = self._conn
        if conn is None:
            return  # not listening now: the others' followers will notice within a second
        try:
            async with asyncio.timeout(5):
                for payload in _payloads(self._hub.origin, alarm_ids, device_ids):
                    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("NOTIFY failed (%r); other processes catch up by polling", exc)

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            body = json.loads(payload)
            if body["origin"] == self._hub.origin:
                return
            alarms = [int(i) for i in body.get("alarms", [])]
            devices = [str(d) for d in body.get("terminals", [])]
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed %s notification: %.200r", CHANNEL, payload)
            return
        self._hub.touch(alarms, local=False)
        self._hub.touch_terminals(devices, local=False)

    async def run(self) -> None:
        """Listen until cancelled; reconnect with backoff when the connection is lost."""
        backoff = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, ev=lost: ev.set())
                await conn.add_listener(CHANNEL, self._heard)
                self._conn = conn
                self.connected.set()
                backoff = 0.5
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(_PING_S):
                            await lost.wait()
                    if not lost.is_set():
                        async with asyncio.timeout(5):
                            await conn.fetchval("SELECT 1")  # a half-open socket shows here
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("live LISTEN connection lost (%r); reconnecting", exc)
            finally:
                self._conn = None
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)


class Follower:
    def __init__(self, hub: Hub, *, poll_s: float | None = None, terminals_every: int = 5) -> None:
        self._hub = hub
        self._poll_s = POLL_S if poll_s is None else poll_s
        self._terminals_every = terminals_every
        self._alarms: dict[int, int] | None = None
        self._trouble: dict[str, tuple[bool, int | None]] | None = None
        self.looks = 0

    async def look(self) -> None:
        deps = self._hub.deps
        hb = deps.settings.heartbeat
        async with deps.sessions() as session:
            revs = await queue.revisions(session=session)
            trouble = None
            if self.looks % self._terminals_every == 0:
                trouble = await terminal_store.problem_terminals(
                    session=session,
                    now=deps.clock.now(),
                    liveness=(hb.interval_s, hb.offline_after_missed),
                )
        if self._alarms is not None:
            changed = {i for i, rev in revs.items() if self._alarms.get(i) != rev}
            self._hub.touch(changed | (self._alarms.keys() - revs.keys()), local=False)
        self._alarms = revs
        if trouble is not None:
            if self._trouble is not None:
                old = self._trouble
                changed_t = {d for d, state in trouble.items() if old.get(d) != state}
                self._hub.touch_terminals(changed_t | (old.keys() - trouble.keys()), local=False)
            self._trouble = trouble
        self.looks += 1

    async def run(self) -> None:
        while True:
            try:
                await self.look()
            except (OSError, DBAPIError) as exc:
                # the database away (or not yet migrated, at a start): one line, not a
                # traceback at each poll
                log.warning("live follower: database not available (%s); trying again", exc)
            except Exception:
                log.exception("live follower pass failed; trying again")
            # a polling period, not a business deadline: real time, whatever the clock
            await asyncio.sleep(self._poll_s)
