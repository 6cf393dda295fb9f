"""A background loop of idempotent passes, shared by the escalation engine and the
notifier: what is due lives in the database; the loop only decides when to look again.

It looks at the earliest due time, at once when woken (new work in this process), and
at least every `poll_s` (work written by another process). A stop is orderly: the pass
under way finishes, within a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Self

from dispatcher.clock import Clock, sleep_or_wake
from dispatcher.loops import watched

# due work we did not get is locked by another process: look again this soon (real time)
_LOCKED_RETRY_S = 0.01
# start-up work that failed is tried again this soon, then less often
_START_RETRY_MIN_S = 0.5
_START_RETRY_MAX_S = 5.0


class PassLoop:
    name = "pass-loop"

    def __init__(
        self, *, clock: Clock, logger: logging.Logger, poll_s: float, grace_s: float
    ) -> None:
        self._clock = clock
        self._log = logger
        self._poll_s = poll_s
        self._grace_s = grace_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.passes = 0

    async def run_once(self) -> int:
        """Do everything due now; returns how much was done."""
        raise NotImplementedError

    async def loop_pass(self) -> int:
        """A pass of the loop: `run_once` unless a loop knows how to do less."""
        return await self.run_once()

    async def next_due(self) -> datetime | None:
        """The earliest time anything becomes due, if known."""
        raise NotImplementedError

    async def starting(self) -> None:
        """Work before the first pass (recovery after a crash, say). Run by the loop and
        tried again until it is done: a database error at start (a deadlock with another
        process, the database restarting again) must not end the process."""

    def wake(self) -> None:
        self._wake.set()

    async def __aenter__(self) -> Self:
        self._task = watched(self._loop(), name=self.name)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self._grace_s)
        except TimeoutError:
            self._log.warning("%s: pass not finished in %.0f s; cut off", self.name, self._grace_s)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _start(self) -> bool:
        """`starting`, until done; False when stopped first."""
        delay = _START_RETRY_MIN_S
        while not self._stopping:
            try:
                await self.starting()
            except Exception:
                self._log.exception("%s: start-up work failed; retry in %.1fs", self.name, delay)
            else:
                return True
            # real time, whatever the clock: it waits for the database, not for due work
            await self._pause(delay)
            delay = min(delay * 2, _START_RETRY_MAX_S)
        return False

    async def _pause(self, seconds: float) -> None:
        """`seconds` of real time, cut short by a wake-up (a stop among them)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    async def _loop(self) -> None:
        if not await self._start():
            return
        while not self._stopping:
            self._wake.clear()
            started = self._clock.now()
            until = started + timedelta(seconds=self._poll_s)
            try:
                await self.loop_pass()
                self.passes += 1
                due = await self.next_due()
                if due is not None:
                    until = min(until, due)
            except Exception:
                self._log.exception("%s: pass failed; retrying", self.name)
                # in real time, whatever the clock: the retry waits for the database
                # (locked, restarting), not for due work; a clock that stands still (a
                # test's) must not leave the work of a failed pass undone
                await self._pause(self._poll_s)
                continue
            if self._stopping:
                break
            if until <= started:
                await asyncio.sleep(_LOCKED_RETRY_S)
                continue
            await sleep_or_wake(self._clock, self._wake, until)
