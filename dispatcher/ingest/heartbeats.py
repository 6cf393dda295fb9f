"""Heartbeats and status messages, coalesced in memory and written in batches.

A city of 10,000 terminals beating every 60 s is ~170 heartbeats a second; one UPDATE
each would be most of the database's work. Instead the latest report per terminal is
kept here and flushed as one executemany per interval. A crash loses at most one
interval of liveness, which the next heartbeat restores.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self, cast

from sqlalchemy import Table, bindparam, func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devices.events import Heartbeat, StatusChange, TerminalEvent
from dispatcher.store.models import Terminal

_TABLE = cast("Table", Terminal.__table__)


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
        logger: logging.Logger,
    ) -> None:
        self._sessions = sessions
        self._interval_s = interval_s
        self._log = logger
        self._pending: dict[str, _Pending] = {}
        self._task: asyncio.Task[None] | None = None
        self.flushes = 0
        self.rows_written = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def heartbeat(self, beat: Heartbeat, now: datetime) -> None:
        p = self._pending.setdefault(beat.device_id, _Pending())
        p.last_seen = now  # our clock, not the terminal's: terminal clocks drift
        p.last_heartbeat = now
        p.connected = True
        p.battery = beat.battery if beat.battery is not None else p.battery
        p.rssi = beat.rssi if beat.rssi is not None else p.rssi
        p.power = beat.power.value if beat.power is not None else p.power
        p.fw = beat.fw if beat.fw is not None else p.fw

    def event(self, event: TerminalEvent, now: datetime) -> None:
        p = self._pending.setdefault(event.device_id, _Pending())
        p.last_seen = now
        p.connected = True
        p.battery = event.battery if event.battery is not None else p.battery
        p.rssi = event.rssi if event.rssi is not None else p.rssi

    def status(self, change: StatusChange, now: datetime) -> None:
        p = self._pending.setdefault(change.device_id, _Pending())
        p.connected = change.online
        p.status_changed_at = now
        if change.online:
            p.last_seen = now

    async def flush(self) -> int:
        """Write what is pending; returns the number of terminals updated."""
        if not self._pending:
            return 0
        batch, self._pending = self._pending, {}
        rows: list[dict[str, Any]] = [
            {
                "b_device_id": device_id,
                "b_last_seen": p.last_seen,
                "b_last_heartbeat": p.last_heartbeat,
                "b_connected": p.connected,
                "b_status_changed_at": p.status_changed_at,
                "b_battery": p.battery,
                "b_rssi": p.rssi,
                "b_power": p.power,
                "b_fw": p.fw,
            }
            for device_id, p in batch.items()
        ]
        stmt = (
            update(_TABLE)
            .where(_TABLE.c.device_id == bindparam("b_device_id"))
            .values(
                {
                    name: func.coalesce(bindparam(f"b_{name}", type_=col.type), col)
                    for name, col in (
                        ("last_seen", _TABLE.c.last_seen),
                        ("last_heartbeat", _TABLE.c.last_heartbeat),
                        ("connected", _TABLE.c.connected),
                        ("status_changed_at", _TABLE.c.status_changed_at),
                        ("battery", _TABLE.c.battery),
                        ("rssi", _TABLE.c.rssi),
                        ("power", _TABLE.c.power),
                        ("fw", _TABLE.c.fw),
                    )
                }
            )
        )
        try:
            async with self._sessions.begin() as session:
                await session.execute(stmt, rows)
        except Exception:
            # put it back (newer reports win) so the next flush retries it
            for device_id, p in batch.items():
                self._pending.setdefault(device_id, p)
            raise
        self.flushes += 1
        self.rows_written += len(rows)
        return len(rows)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.flush()
            except Exception:
                self._log.exception("liveness flush failed; will retry")

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="heartbeat-flush")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """The periodic flush stops; what is pending is written once more."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            await self.flush()
        except Exception:
            self._log.exception("last liveness flush failed")
