"""`GET /api/live`: every alarm and terminal change, pushed to the dashboards.

The hub of one process keeps its WebSockets. Whoever knows of a change tells it the
alarm ids (`touch`); it reads their current state after the commit and sends each
screen the whole line, with `rev` (the newest timeline id) so a screen never replaces a
newer line with an older one. Changes of this process are also announced to the others
(`bus`, PostgreSQL NOTIFY); `dispatcher.web.live_sources` listens, and notices what the
engine, the notifier and other processes change.

A new connection first gets a snapshot of the whole queue, then what changed meanwhile:
a screen that reconnects has caught up with everything it missed.

A user with a scope (`dispatcher.store.scoping`) gets the snapshot and the changes of
their part of the city only; the wallboard's screen, which shows no resident's data,
gets an empty snapshot and a bare `changed` message instead of the lines (it reads
`/api/wall` again).

A socket lives only as long as the session it was opened with: before each round of
messages (a change, or the tick), and at each look of the follower (once a second), the
hub checks every socket's token, and closes those logged out, expired, ended by a
password change or by disabling the user, in this process or another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import WSCloseCode, web
from sqlalchemy import select

from dispatcher.store.models import Alarm, Terminal
from dispatcher.store.scoping import scoped
from dispatcher.users import accounts as users
from dispatcher.views import operators_queue
from dispatcher.views import terminals as terminal_store
from dispatcher.web import session as cookie_session
from dispatcher.web.auth import TOKEN, principal
from dispatcher.web.errors import json_error
from dispatcher.web.state import WebDeps

log = logging.getLogger("dispatcher.web.live")

TICK_S = 15.0  # a tick keeps proxies from closing idle sockets and carries the server time
SEND_TIMEOUT_S = 5.0  # a screen that cannot take a message in this long is dropped


class Bus(Protocol):
    async def announce(self, alarm_ids: set[int], device_ids: set[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Sight:
    """What a screen may be sent: the communities of its user's scope (None: the whole
    city), and whether it is the wallboard's (no lines, only that something changed)."""

    communities: frozenset[str] | None = None
    wallboard: bool = False


CITY = Sight()


@dataclass(frozen=True, slots=True)
class _Message:
    text: str
    alarm_id: int | None = None
    device_id: str | None = None


class Client:
    __slots__ = ("backlog", "ready", "sight", "token_hash", "ws")

    def __init__(self, ws: web.WebSocketResponse, token_hash: str, sight: Sight = CITY) -> None:
        self.ws = ws
        self.token_hash = token_hash
        self.sight = sight
        self.ready = False  # False until its snapshot is sent; changes wait in the backlog
        self.backlog: list[str] = []


class Hub:
    def __init__(self, deps: WebDeps) -> None:
        self.deps = deps
        self.origin = uuid.uuid4().hex  # tells our own announcements from the others'
        self.bus: Bus | None = None
        self.running = False
        # held while the hub or the follower reads the database: the stop waits for the
        # read under way instead of cancelling it inside the driver (aiosqlite's thread
        # would finish it after the loop closed)
        self.reading = asyncio.Lock()
        self.draining = False  # shutting down: new sockets are refused, clients reconnect
        self.clients: set[Client] = set()
        self._alarms: set[int] = set()
        self._announce: set[int] = set()
        self._terminals: set[str] = set()
        self._announce_terminals: set[str] = set()
        self._wake = asyncio.Event()
        self._sent: dict[int, str] = {}  # last message per alarm: the same one is not resent

    def touch(self, alarm_ids: Iterable[int], *, local: bool = True) -> None:
        """These alarms changed (committed). `local`: by this process, so tell the others."""
        if not self.running:
            return
        ids = set(alarm_ids)
        self._alarms |= ids
        if local:
            self._announce |= ids
        self._wake.set()

    def touch_terminals(self, device_ids: Iterable[str], *, local: bool = True) -> None:
        if not self.running:
            return
        ids = set(device_ids)
        self._terminals |= ids
        if local:
            self._announce_terminals |= ids
        self._wake.set()

    async def run(self) -> None:
        """Publish what was touched, and a tick now and then, until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_S):
                    await self._wake.wait()
            self._wake.clear()
            alarms, self._alarms = self._alarms, set()
            terminals, self._terminals = self._terminals, set()
            announce, self._announce = self._announce, set()
            announce_terminals, self._announce_terminals = self._announce_terminals, set()
            try:
                async with self.reading:
                    await self.end_lapsed_sessions()
                    await self._publish(alarms, terminals)
                if self.bus is not None and (announce or announce_terminals):
                    await self.bus.announce(announce, announce_terminals)
            except Exception:
                log.exception("live update failed; trying again")
                self._alarms |= alarms
                self._terminals |= terminals
                self._announce |= announce
                self._announce_terminals |= announce_terminals
                await asyncio.sleep(1.0)
                self._wake.set()

    async def end_lapsed_sessions(self) -> None:
        """Close the sockets whose session ended (logout, expiry, password change, the user
        disabled), here or in another process."""
        clients = list(self.clients)
        if not clients:
            return
        async with self.deps.sessions() as session:
            live = await users.live_tokens(
                session=session,
                hashes={c.token_hash for c in clients},
                now=self.deps.clock.now(),
            )
        lapsed = [c for c in clients if c.token_hash not in live]
        for client in lapsed:
            self.clients.discard(client)
        # the screen reconnects, is refused, and goes to the login page
        await asyncio.gather(
            *(
                c.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"session ended")
                for c in lapsed
            )
        )

    def _tick(self) -> str:
        return json.dumps({"type": "tick", "now": self.deps.clock.now().isoformat()})

    async def _publish(self, alarm_ids: set[int], device_ids: set[str]) -> None:
        if not self.clients:
            # nobody watching: nothing to read (a mass event touches thousands of alarms
            # a second); who joins gets a snapshot, and nothing is taken for sent
            self._sent.clear()
            return
        messages: list[_Message] = []
        if alarm_ids or device_ids:
            deps = self.deps
            async with deps.sessions() as session:
                items = await operators_queue.queue_items(session=session, alarm_ids=alarm_ids)
                terminals = await terminal_store.terminal_items(
                    session=session, device_ids=device_ids, now=deps.clock.now(), liveness=_hb(deps)
                )
            for item in items:
                text = json.dumps({"type": "alarm", "alarm": item}, ensure_ascii=False)
                if self._sent.get(item["id"]) == text:
                    continue
                if item["status"] == "resolved":
                    self._sent.pop(item["id"], None)
                else:
                    self._sent[item["id"]] = text
                messages.append(_Message(text, alarm_id=item["id"]))
            messages.extend(
                _Message(
                    json.dumps({"type": "terminal", "terminal": t}, ensure_ascii=False),
                    device_id=t["device_id"],
                )
                for t in terminals
            )
        tick = self._tick()
        # who is sent this round: one who joins meanwhile reads its snapshot after the
        # changes above were read, so it misses nothing
        clients = list(self.clients)
        each = {
            sight: await self._for(sight, messages, tick) for sight in {c.sight for c in clients}
        }
        await asyncio.gather(*(self._deliver(c, each[c.sight]) for c in clients))

    async def _for(self, sight: Sight, messages: list[_Message], tick: str) -> list[str]:
        """The messages a screen of this sight is sent: those of its part of the city
        (read through its scope, as every API answer is), or for the wallboard only that
        something changed."""
        shown = messages
        if sight.communities is not None and messages:
            alarm_ids = {m.alarm_id for m in messages if m.alarm_id is not None}
            device_ids = {m.device_id for m in messages if m.device_id is not None}
            async with scoped(self.deps.sessions, sight.communities)() as session:
                alarms = set(
                    await session.scalars(select(Alarm.id).where(Alarm.id.in_(alarm_ids)))
                    if alarm_ids
                    else ()
                )
                terminals = set(
                    await session.scalars(
                        select(Terminal.device_id).where(Terminal.device_id.in_(device_ids))
                    )
                    if device_ids
                    else ()
                )
            shown = [m for m in messages if m.alarm_id in alarms or m.device_id in terminals]
        if sight.wallboard:
            return ([json.dumps({"type": "changed"})] if shown else []) + [tick]
        return [m.text for m in shown] + [tick]

    async def _deliver(self, client: Client, messages: list[str]) -> None:
        if not client.ready:
            client.backlog.extend(messages)
            return
        await self._send(client, messages)

    async def _send(self, client: Client, messages: list[str]) -> bool:
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                for text in messages:
                    await client.ws.send_str(text)
        except (TimeoutError, ConnectionError, RuntimeError) as exc:
            log.info("dropping a dashboard socket: %r", exc)
            self.clients.discard(client)
            await client.ws.close(code=WSCloseCode.GOING_AWAY)
            return False
        return True

    async def join(self, ws: web.WebSocketResponse, token: str, sight: Sight = CITY) -> Client:
        """Register, send the snapshot, then what changed while it was being read."""
        client = Client(ws, users.token_hash(token), sight)
        self.clients.add(client)
        try:
            alarms = []
            if not sight.wallboard:
                async with scoped(self.deps.sessions, sight.communities)() as session:
                    alarms = await operators_queue.lines(session=session)
        except BaseException:
            self.clients.discard(client)
            raise
        snapshot = {"type": "snapshot", "now": self.deps.clock.now().isoformat(), "alarms": alarms}
        if not await self._send(client, [json.dumps(snapshot, ensure_ascii=False)]):
            return client
        while client.backlog:
            pending, client.backlog = client.backlog, []
            if not await self._send(client, pending):
                return client
        client.ready = True
        return client

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    async def close_all(self) -> None:
        """On shutdown: every screen is told to reconnect (to another process, or later)."""
        self.draining = True
        clients, self.clients = list(self.clients), set()
        await asyncio.gather(
            *(c.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for c in clients)
        )


def _hb(deps: WebDeps) -> tuple[int, int]:
    hb = deps.settings.heartbeat
    return hb.interval_s, hb.offline_after_missed


LIVE = web.AppKey("live", Hub)


def touch(app: web.Application, alarm_ids: Iterable[int]) -> None:
    """For the composition root: these alarms changed in this process."""
    hub = app.get(LIVE)
    if hub is not None:
        hub.touch(alarm_ids)


def session_ended(app: web.Application) -> None:
    """A session of this process ended (logout): its sockets close now, not at the tick."""
    hub = app.get(LIVE)
    if hub is not None and hub.running:
        hub.touch(())


async def socket(request: web.Request) -> web.StreamResponse:
    hub = request.app[LIVE]
    # a page of another site must not read the queue with our operator's cookie
    if not cookie_session.same_origin(request):
        return json_error(403, "cross-origin WebSocket refused")
    if hub.draining or not hub.running:
        return json_error(503, "not accepting live connections now; try again")
    ws = web.WebSocketResponse(heartbeat=20.0)
    if not ws.can_prepare(request).ok:
        return json_error(400, "a WebSocket upgrade is expected here")
    await ws.prepare(request)
    try:
        who = principal(request)
        sight = Sight(who.communities, wallboard=who.role is users.Role.WALLBOARD)
        client = await hub.join(ws, request[TOKEN], sight)
    except Exception:
        log.exception("could not send the queue to a new screen")
        await ws.close(code=WSCloseCode.INTERNAL_ERROR)  # the screen retries
        return ws
    try:
        async for _message in ws:
            pass  # screens only listen; anything they send is ignored
    finally:
        hub.leave(client)
    return ws


async def on_shutdown(app: web.Application) -> None:
    await app[LIVE].close_all()
