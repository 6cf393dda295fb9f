"""Heartbeats and status messages, coalesced in memory and written in batches.

A city of 10,000 terminals beating every 60 s is ~170 heartbeats a second; one UPDATE
each would be most of the database's work. Instead the latest report per terminal is
kept here and flushed as one executemany per interval. A crash loses at most one
interval of liveness, which the next heartbeat restores. Memory is bounded by the
number of terminals (`max_pending`; past it, reports of further terminals wait for the
next interval's heartbeat).

The same transaction writes what the liveness path rejected (a bad heartbeat or status)
and the counts of rejections that were not logged in full (`RepeatLimit`).

A retained message is the broker's copy of what a terminal said some time ago, sent
again at each of our (re)connections: it says what the terminal last reported, not that
it is alive now. Counting it as a sign of life kept a hung terminal "online" across
every reconnect, and its offline alarm closed itself again and again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devices.events import Heartbeat, Rejection, StatusChange, TerminalEvent
from dispatcher.clock import Clock
from dispatcher.ingest.transaction import rejection_row, repeats_row
from dispatcher.loops import watched
from dispatcher.rules.rejections import RepeatLimit
from dispatcher.store import terminal_rows

# rejected liveness messages waiting for the next flush; the repeat limit keeps them far
# fewer (a few per terminal per window), this only bounds memory whatever happens
_MAX_REJECTED = 1000


@dataclass(slots=True)
class _Pending:
    last_seen: datetime | None = None
    last_heartbeat: datetime | None = None
    connected: bool | None = None
    status_changed_at: datetime | None = None
    battery: int | None = None
    rssi: int | None = None
    power: str | None = None
    fw: str | None = None


class HeartbeatBatcher:
    """Collects liveness reports; `flush()` writes them. As an async context manager it
    flushes every interval, and once more at the end."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval_s: float,
        clock: Clock,
        repeats: RepeatLimit,
        logger: logging.Logger,
        max_pending: int = 100_000,
    ) -> None:
        self._sessions = sessions
        self._interval_s = interval_s
        self._clock = clock
        self._repeats = repeats
        self._log = logger
        self._max_pending = max_pending
        self._pending: dict[str, _Pending] = {}
        self._rejected: list[tuple[Rejection, datetime]] = []
        self._task: asyncio.Task[None] | None = None
        self.flushes = 0
        self.rows_written = 0
        self.turned_away = 0  # reports of terminals beyond `max_pending`, or rejections

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _of(self, device_id: str) -> _Pending | None:
        p = self._pending.get(device_id)
        if p is None:
            if len(self._pending) >= self._max_pending:
                self.turned_away += 1
                return None
            p = self._pending[device_id] = _Pending()
        return p

    def heartbeat(self, beat: Heartbeat, now: datetime) -> None:
        p = self._of(beat.device_id)
        if p is None:
            return
        p.last_seen = now  # our clock, not the terminal's: terminal clocks drift
        p.last_heartbeat = now
        p.connected = True
        p.battery = beat.battery if beat.battery is not None else p.battery
        p.rssi = beat.rssi if beat.rssi is not None else p.rssi
        p.power = beat.power.value if beat.power is not None else p.power
        p.fw = beat.fw if beat.fw is not None else p.fw

    def event(self, event: TerminalEvent, now: datetime) -> None:
        p = self._of(event.device_id)
        if p is None:
            return
        p.last_seen = now
        p.connected = True
        p.battery = event.battery if event.battery is not None else p.battery
        p.rssi = event.rssi if event.rssi is not None else p.rssi

    def status(self, change: StatusChange, now: datetime, *, retained: bool) -> None:
        """`online` on connect or `offline` as its last will; a retained one (sent again
        at our reconnect) only sets what the terminal last said, not when. Connecting is
        no sign of life (`last_seen`): a hung terminal whose connection drops and comes
        back in a loop says `online` each time and never a heartbeat; only heartbeats
        and events keep a terminal online."""
        p = self._of(change.device_id)
        if p is None:
            return
        p.connected = change.online
        if retained:
            return
        p.status_changed_at = now

    def report(self, report: Heartbeat | StatusChange, now: datetime, *, retained: bool) -> None:
        """A heartbeat or a status, as received (retained or not)."""
        if isinstance(report, StatusChange):
            self.status(report, now, retained=retained)
        elif not retained:  # a retained heartbeat is old news, not a sign of life
            self.heartbeat(report, now)

    def rejected(self, rejection: Rejection, now: datetime) -> None:
        """A bad heartbeat or status, to be logged with the next flush."""
        if len(self._rejected) >= _MAX_REJECTED:
            self.turned_away += 1
            return
        self._rejected.append((rejection, now))

    async def flush(self) -> int:
        """Write what is pending; returns the number of terminals updated."""
        now = self._clock.now()
        repeats = self._repeats.ended(now)
        if not (self._pending or self._rejected or repeats):
            return 0
        batch, self._pending = self._pending, {}
        rejected, self._rejected = self._rejected, []
        reports = {
            device_id: {
                "last_seen": p.last_seen,
                "last_heartbeat": p.last_heartbeat,
                "connected": p.connected,
                "status_changed_at": p.status_changed_at,
                "battery": p.battery,
                "rssi": p.rssi,
                "power": p.power,
                "fw": p.fw,
            }
            for device_id, p in batch.items()
        }
        try:
            async with self._sessions.begin() as session:
                written = await terminal_rows.write_liveness(session, reports)
                session.add_all(rejection_row(r, at) for r, at in rejected)
                session.add_all(repeats_row(r, now) for r in repeats)
        except Exception:
            # put it back (newer reports win) so the next flush retries it; the counts
            # of repeats are only noise and are not kept
            for device_id, p in batch.items():
                self._pending.setdefault(device_id, p)
            self._rejected = (rejected + self._rejected)[:_MAX_REJECTED]
            raise
        self.flushes += 1
        self.rows_written += written
        return written

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.flush()
            except Exception:
                self._log.exception("liveness flush failed; will retry")

    async def __aenter__(self) -> Self:
        self._task = watched(self._run(), name="heartbeat-flush")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """The periodic flush stops; what is pending is written once more, with every
        count of repeats not yet written."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._repeats.end_all()
        try:
            await self.flush()
        except Exception:
            self._log.exception("last liveness flush failed")
