"""The escalation engine: a loop of idempotent passes over due alarms.

Deadlines live in the database (`alarms.next_step_at`); the loop only decides when to
look again: at the earliest due time, at once when woken (a new alarm, an ack), and at
least every `poll_s` so that alarms created by another process are not missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import Clock, sleep_or_wake
from dispatcher.config import Settings
from dispatcher.metrics import Metrics
from dispatcher.store import escalation as store

_BATCH = 100


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        metrics: Metrics,
        skip_locked: bool,
        logger: logging.Logger,
        poll_s: float = 0.5,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        # told when a pass queued notifications, so the notifier sends them at once
        self._on_queued = on_queued
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._metrics = metrics
        self._skip_locked = skip_locked
        self._log = logger
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.passes = 0
        self.fired = 0
        self.queued = 0

    def wake(self) -> None:
        self._wake.set()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._loop(), name="escalation-engine")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> int:
        """Fire everything due now; returns how many alarms moved."""
        moved = 0
        while True:
            # each batch reads the clock: waits, log times and lag count from the firing,
            # not from the start of a pass that may be draining a backlog
            now = self._clock.now()
            async with self._sessions.begin() as session:
                result = await store.run_due(
                    session=session,
                    policies=self._settings.escalation,
                    tz=self._settings.city.tz,
                    now=now,
                    limit=_BATCH,
                    skip_locked=self._skip_locked,
                )
            moved += result.fired
            self.fired += result.fired
            self.queued += result.queued
            self._metrics.escalation_steps.inc(result.fired)
            for lag in result.lags:
                self._metrics.escalation_lag.observe(max(lag, 0.0))
            if result.queued and self._on_queued is not None:
                self._on_queued()
            if result.fired < _BATCH:
                break
        async with self._sessions.begin() as session:
            alerted = await store.run_ack_overdue(
                session=session,
                now=now,
                timeout_s=self._settings.alarms.ack_timeout_s,
                limit=_BATCH,
                skip_locked=self._skip_locked,
            )
        if alerted and self._on_queued is not None:
            self._on_queued()
        self.passes += 1
        return moved

    async def _next_wake(self) -> datetime | None:
        async with self._sessions() as session:
            return await store.next_wake(
                session=session, ack_timeout_s=self._settings.alarms.ack_timeout_s
            )

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            started = self._clock.now()
            until = started + timedelta(seconds=self._poll_s)
            try:
                await self.run_once()
                due = await self._next_wake()
                if due is not None:
                    until = min(until, due)
            except Exception:
                self._log.exception("escalation pass failed; retrying")
            if until <= started:
                # due rows we did not get were locked by another engine: look again soon
                await asyncio.sleep(0.01)
                continue
            await sleep_or_wake(self._clock, self._wake, until)
