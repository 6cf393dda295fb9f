"""The escalation engine: a loop of idempotent passes over what time makes due.

Each pass: terminals that are down (their own alarms, or one outage for many), missed
check-ins and the morning check-in lists, then the escalation steps due (so an alarm
opened in the pass fires its first step in it). The loop, woken by every new alarm,
looks at terminals and check-ins only when they may have changed: at each poll, not
at each wake-up; when one comes due; when woken for them (`loop_pass`, `wake`).
Deadlines live in the database (`alarms.next_step_at`, `residents.checkin_due_at`,
terminals' liveness); `PassLoop` decides when to look again: at the earliest due time,
at once when woken (a new alarm, an ack), and at least every `poll_s` so that work of
another process is not missed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import Clock
from dispatcher.config import Settings
from dispatcher.engine import checkins
from dispatcher.engine import escalation as store
from dispatcher.engine.outages import Liveness, Thresholds, check_down_terminals
from dispatcher.metrics import Metrics
from dispatcher.passloop import PassLoop
from dispatcher.rules.policy import AlarmKind
from dispatcher.store.changes import Changes, Closed, Opened

_BATCH = 100
# the loop looks at terminals and check-ins at most this often (clock seconds), besides
# when one comes due or it is woken for them: a little under its poll (0.5 s), so an idle
# loop looks at every poll, while a burst's new alarms, each waking the engine between
# polls, bring no look (in a city of 100,000 terminals one costs PostgreSQL ~100 ms)
_TERMINALS_EVERY = timedelta(seconds=0.4)
# down terminals are grouped per community in one decision: read them all at once
_DOWN_LIMIT = 20000
# check-in batches in one loop pass; more wait for the next pass, right after the
# escalation steps: a city file of 60,000 new windows (600 batches, ~10 s) must not
# hold a press's first step
_CHECKIN_BATCHES = 5
_GRACE_S = 10.0


class Engine(PassLoop):
    name = "escalation-engine"

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
        after_commit: Callable[[Changes], None] | None = None,
    ) -> None:
        super().__init__(clock=clock, logger=logger, poll_s=poll_s, grace_s=_GRACE_S)
        # told what a pass committed: messages for the notifier at once, alarms for
        # the live view
        self._after_commit = after_commit or (lambda changes: None)
        self._settings = settings
        self._sessions = sessions
        self._metrics = metrics
        self._skip_locked = skip_locked
        self._terminals_at: datetime | None = None  # the last look at terminals, check-ins
        self._terminals_woken = False
        self._checkins_left = False  # a loop pass stopped at _CHECKIN_BATCHES
        self.terminal_looks = 0  # passes that looked at terminals and check-ins
        self.fired = 0
        self.queued = 0
        # when a down terminal's own alarm becomes due (not stored: the pass recomputes it)
        self._down_due: datetime | None = None
        # one pass at a time in this process (a test's or a caller's beside the loop's):
        # on SQLite nothing else keeps two from deciding the same thing at once
        self._one_pass = asyncio.Lock()

    async def run_once(self) -> int:
        """Do everything due now; returns how many alarms moved."""
        async with self._one_pass:
            return await self._pass(terminals=True, checkin_batches=None)

    async def loop_pass(self) -> int:
        """The loop's pass: the escalation steps due, and terminals and check-ins when
        they may have changed (`_TERMINALS_EVERY`, one came due, `wake`)."""
        now = self._clock.now()
        terminals = (
            self._terminals_at is None
            or self._terminals_woken
            or now - self._terminals_at >= _TERMINALS_EVERY
            or (self._down_due is not None and self._down_due <= now)
        )
        async with self._one_pass:
            moved = await self._pass(terminals=terminals, checkin_batches=_CHECKIN_BATCHES)
        if self._checkins_left:
            super().wake()  # the rest of the check-ins, in a pass of their own at once
        return moved

    def wake(self) -> None:
        """Look at everything at once: terminals and check-ins too (a power report, a
        check-in window changed, an operator's action)."""
        self._terminals_woken = True
        super().wake()

    def wake_for_alarms(self) -> None:
        """New alarms: their first steps at once; terminals and check-ins in their time."""
        super().wake()

    async def _pass(self, *, terminals: bool, checkin_batches: int | None) -> int:
        touched: list[int] = []
        if terminals:
            self._terminals_woken = False
            self._terminals_at = self._clock.now()
            self.terminal_looks += 1
            touched += await self._terminals()
        if terminals or self._checkins_left:
            touched += await self._checkins(checkin_batches)
        if touched:
            self._after_commit(Changes(alarms=touched))
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
            if result.queued:
                self._after_commit(Changes(outbox=True))
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
        if alerted:
            self._after_commit(Changes(outbox=True))
        return moved

    async def _terminals(self) -> list[int]:
        settings = self._settings
        hb = settings.heartbeat
        async with self._sessions.begin() as session:
            down = await check_down_terminals(
                session=session,
                now=self._clock.now(),
                live=Liveness(hb.interval_s, hb.offline_after_missed, hb.offline_alarms),
                thresholds=Thresholds(settings.outage.min_terminals, settings.outage.window_s),
                limit=_DOWN_LIMIT,
            )
        self._down_due = down.next_due
        self._report(AlarmKind.DEVICE, down.opened, down.closed)
        return [*down.opened, *down.changed]

    async def _checkins(self, batches: int | None) -> list[int]:
        """Missed check-ins and new windows' deadlines, `batches` of them at most (None:
        all that are due); then the morning lists."""
        settings = self._settings
        tz = settings.city.tz
        touched: list[int] = []
        done = 0
        self._checkins_left = False
        while True:
            async with self._sessions.begin() as session:
                missed = await checkins.run_checkins(
                    session=session,
                    now=self._clock.now(),
                    tz=tz,
                    limit=_BATCH,
                    skip_locked=self._skip_locked,
                )
            self._report(AlarmKind.CHECKIN, missed.opened, [])
            touched += [*missed.opened, *missed.attached]
            done += 1
            if not missed.more(_BATCH):
                break
            if batches is not None and done >= batches:
                self._checkins_left = True
                return touched  # the morning lists after the deadlines, as in one pass
        async with self._sessions.begin() as session:
            summaries = await checkins.send_summaries(
                session=session,
                now=self._clock.now(),
                tz=tz,
                summary_at=settings.checkin.summary_at,
                to=settings.checkin.summary_to,
            )
        if summaries:
            self._after_commit(Changes(outbox=True))
        return touched

    def _report(self, kind: AlarmKind, opened: list[int], closed: list[int]) -> None:
        """Alarms the engine opened or closed by time alone: counted and logged, as ingest
        and the operators' actions do theirs."""
        if opened or closed:
            self._after_commit(
                Changes(
                    opened=[Opened(i, kind.value, None) for i in opened],
                    closed=[Closed(i, "back by itself", None, None) for i in closed],
                )
            )

    async def next_due(self) -> datetime | None:
        settings = self._settings
        async with self._sessions() as session:
            found = [
                await store.next_wake(session=session, ack_timeout_s=settings.alarms.ack_timeout_s),
                await checkins.next_due(session=session),
                await checkins.next_summary(
                    session=session,
                    now=self._clock.now(),
                    tz=settings.city.tz,
                    summary_at=settings.checkin.summary_at,
                ),
                self._down_due,
            ]
        return min((f for f in found if f is not None), default=None)
