"""Where the live hub hears of changes it was not told about directly.

- `LiveNotices` (PostgreSQL only): NOTIFY between the processes of a city, on the
  process's `dispatcher.pgbus.PgBus`, so an alarm taken on one process, or a press
  ingested by another, reaches every screen at once. Only ids travel; each process
  reads the state itself from the shared database.
- `Follower` (both databases): once a second, the event log's new lines (the alarms
  they name changed; `dispatcher.views.log_cursor`) and the set of terminals in
  trouble, compared with the last look. It catches what has no hook (the engine's
  steps, delivery reports) and whatever a lost NOTIFY missed, as the engine's own poll
  catches alarms of other processes. Once a minute it also compares the revision of
  every unresolved alarm with the last such sweep: what the log's cursor could miss (a
  transaction open past its holes' minute, a database restored under it) waits a
  minute at most.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Final

from sqlalchemy.exc import DBAPIError

from dispatcher.pgbus import PgBus
from dispatcher.views import log_cursor, operators_queue
from dispatcher.views import terminals as terminal_store
from dispatcher.views.log_cursor import LogCursor
from dispatcher.web.live_hub import Hub

log = logging.getLogger("dispatcher.web.live")

CHANNEL: Final = "dispatcher_live"
_MAX_PAYLOAD: Final = 7000  # NOTIFY payloads must stay under 8000 bytes
POLL_S = 1.0  # how often the follower looks (tests of NOTIFY slow it down)
SWEEP_EVERY = 60  # looks between two comparisons of every unresolved alarm's revision


def _payloads(origin: str, alarm_ids: set[int], device_ids: set[str]) -> list[str]:
    """Announcements small enough for NOTIFY, each naming a share of the ids."""
    result: list[str] = []
    alarms, devices = sorted(alarm_ids), sorted(device_ids)
    while alarms or devices:
        take_a, take_d = alarms[:500], devices[:200]
        alarms, devices = alarms[500:], devices[200:]
        result.append(json.dumps({"origin": origin, "alarms": take_a, "terminals": take_d}))
    return [p for p in result if len(p) <= _MAX_PAYLOAD]


class LiveNotices:
    """The hub's announcements to, and from, the other processes, on the process's
    `PgBus`."""

    def __init__(self, hub: Hub, bus: PgBus) -> None:
        self._hub = hub
        self._bus = bus
        self.connected = bus.connected
        bus.listen(CHANNEL, self._heard)

    async def announce(self, alarm_ids: set[int], device_ids: set[str]) -> None:
        for payload in _payloads(self._hub.origin, alarm_ids, device_ids):
            self._bus.send(CHANNEL, payload)

    def _heard(self, payload: str) -> None:
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


class Follower:
    def __init__(
        self,
        hub: Hub,
        *,
        poll_s: float | None = None,
        terminals_every: int = 5,
        sweep_every: int = SWEEP_EVERY,
    ) -> None:
        self._hub = hub
        self._poll_s = POLL_S if poll_s is None else poll_s
        self._terminals_every = terminals_every
        self._sweep_every = sweep_every
        self._cursor = LogCursor()
        # the revision of every unresolved alarm at the last sweep
        self._alarms: dict[int, int] | None = None
        # the terminals that need attention as last read (`trouble_digest`), and its records
        self._digest: str | None = None
        self._trouble: frozenset[str] | None = None
        self.looks = 0

    async def look(self) -> None:
        deps = self._hub.deps
        hb = deps.settings.heartbeat
        async with deps.sessions() as session:
            revs, news = None, {}
            cursor = self._cursor
            first = cursor.top is None
            if cursor.top is None:
                cursor.start(await log_cursor.highest_line(session=session))
            else:
                lines = await log_cursor.lines_after(
                    session=session, top=cursor.top, holes=cursor.gaps.keys()
                )
                news = cursor.advance(lines, now=time.monotonic())
            if self.looks % self._sweep_every == 0:
                revs = await operators_queue.revisions(session=session)
                if not first:  # where the log stands was read just above
                    highest = await log_cursor.highest_line(session=session) or 0
                    if cursor.top is not None and highest < cursor.top:  # a database restored
                        cursor.start(highest)
            trouble, digest = None, None
            if self.looks % self._terminals_every == 0:
                digest = await terminal_store.trouble_digest(
                    session=session,
                    now=deps.clock.now(),
                    liveness=(hb.interval_s, hb.offline_after_missed),
                )
                if digest != self._digest:
                    trouble = terminal_store.trouble_records(digest)
        changed = set(news)
        if self._alarms is not None:
            self._alarms.update(news)  # told now: the sweep tells only what was missed
        if revs is not None:
            if self._alarms is not None:
                changed |= {i for i, rev in revs.items() if self._alarms.get(i) != rev}
                # closed (or missed): a screen drops it on reading it resolved
                changed |= self._alarms.keys() - revs.keys()
            self._alarms = revs
        if changed:
            self._hub.touch(changed, local=False)
        if trouble is not None:
            if self._trouble is not None:
                self._hub.touch_terminals(
                    terminal_store.changed_terminals(self._trouble, trouble), local=False
                )
            self._trouble, self._digest = trouble, digest
        # a user disabled (`dispatcher user disable`, another process): their screens
        # close within a look, on either database, with no announcement needed
        await self._hub.end_lapsed_sessions()
        self.looks += 1

    async def run(self) -> None:
        while True:
            try:
                async with self._hub.reading:
                    await self.look()
            except (OSError, DBAPIError) as exc:
                # the database away (or not yet migrated, at a start): one line, not a
                # traceback at each poll
                log.warning("live follower: database not available (%s); trying again", exc)
            except Exception:
                log.exception("live follower pass failed; trying again")
            # a polling period, not a business deadline: real time, whatever the clock
            await asyncio.sleep(self._poll_s)
