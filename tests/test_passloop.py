"""The loop the engine and the notifier share (`dispatcher.passloop`): its start-up work
(the notifier's recovery of interrupted sends) is tried again until it is done, and a
failure of it never ends the loop or the process; no pass runs before it is done. A pass
that fails is tried again in real time, even on a clock that stands still."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from dispatcher.clock import ManualClock, SystemClock
from dispatcher.passloop import PassLoop
from harness.mqtt import wait_for


class Flaky(PassLoop):
    name = "flaky"

    def __init__(self, failures: int) -> None:
        super().__init__(
            clock=SystemClock(), logger=logging.getLogger("test.passloop"), poll_s=0.05, grace_s=5
        )
        self.failures = failures
        self.tries = 0
        self.started = False
        self.passes_before_start = 0

    async def starting(self) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise RuntimeError("deadlock detected")  # as asyncpg said at a busy start
        self.started = True

    async def run_once(self) -> int:
        if not self.started:
            self.passes_before_start += 1
        return 0

    async def next_due(self) -> datetime | None:
        return None


async def test_failed_start_up_work_is_tried_again_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Flaky(failures=2)
    async with asyncio.timeout(1):
        await loop.__aenter__()  # returns at once: the work is the loop's own
    try:
        await wait_for(lambda: loop.passes >= 3)
        assert loop.tries == 3
        assert loop.passes_before_start == 0
        failed = [r for r in caplog.records if "start-up work failed" in r.getMessage()]
        assert len(failed) == 2
    finally:
        await loop.__aexit__(None, None, None)


async def test_a_stop_while_start_up_work_keeps_failing_ends_the_loop() -> None:
    loop = Flaky(failures=10**6)
    await loop.__aenter__()
    await wait_for(lambda: loop.tries >= 1)
    async with asyncio.timeout(5):
        await loop.__aexit__(None, None, None)
    assert loop.passes == 0


class FailsOnce(PassLoop):
    name = "fails-once"

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(
            clock=clock, logger=logging.getLogger("test.passloop"), poll_s=0.5, grace_s=5
        )
        self.tries = 0
        self.done = 0

    async def run_once(self) -> int:
        self.tries += 1
        if self.tries == 2:
            raise RuntimeError("database is locked")  # as SQLite says under load
        self.done += 1
        return 1

    async def next_due(self) -> datetime | None:
        return None


async def test_a_failed_pass_is_tried_again_though_the_clock_stands_still() -> None:
    """A test's clock moves only when told. A pass that failed after the clock's last
    move (a check-in due: SQLite locked under load) was tried again only at the clock's
    next move, and the missed check-in it should have opened waited for ever."""
    clock = ManualClock(datetime(2026, 10, 20, 7, 0, tzinfo=UTC))
    loop = FailsOnce(clock)
    await loop.__aenter__()
    try:
        await wait_for(lambda: loop.tries == 1)
        clock.advance(30)  # the work comes due; the pass for it fails
        await wait_for(lambda: loop.done == 2, within=5)
        assert loop.tries == 3
    finally:
        await loop.__aexit__(None, None, None)
