"""The one place the shell reads the time; tests inject a clock they move by hand."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait; a manual clock returns as soon as it is advanced past the deadline."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Wait until `when`; at once if it has passed (even while we were busy)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def sleep_until(self, when: datetime) -> None:
        await asyncio.sleep(max((when - self.now()).total_seconds(), 0.0))


class ScaledClock:
    """A demo's clock: starts at `start` and runs `speed` times faster than the wall
    clock (`clock.speed` in the configuration; `simulate week` runs a week in minutes).
    Never for a city: deadlines, ages and reports all run on it."""

    def __init__(self, start: datetime, speed: float) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs an aware datetime")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._origin) * self._speed)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) / self._speed)

    async def sleep_until(self, when: datetime) -> None:
        await self.sleep((when - self.now()).total_seconds())


class ManualClock:
    """A clock that moves only when told: a 30-minute escalation runs in milliseconds."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0.0, **delta: float) -> datetime:
        self._now += timedelta(seconds=seconds, **delta)
        # wake every sleeper; each re-checks its own deadline
        self._moved.set()
        self._moved = asyncio.Event()
        return self._now

    def set(self, when: datetime) -> datetime:
        if when < self._now:
            raise ValueError("a ManualClock never goes back")
        return self.advance((when - self._now).total_seconds())

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + timedelta(seconds=seconds))

    async def sleep_until(self, when: datetime) -> None:
        while self._now < when:
            await self._moved.wait()


async def sleep_or_wake(clock: Clock, wake: asyncio.Event, until: datetime) -> None:
    """Sleep on the clock until `until`, returning early when `wake` is set: how loops
    wait for due work without missing new work. An absolute deadline, so time that
    passed while the loop was busy is never slept again."""
    sleeper = asyncio.ensure_future(clock.sleep_until(until))
    waker = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, waker):
            task.cancel()
        await asyncio.gather(sleeper, waker, return_exceptions=True)
