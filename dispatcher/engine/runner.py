"""The escalation engine: a loop of idempotent passes over due alarms.

Deadlines live in the database (`alarms.next_step_at`); `PassLoop` decides when to look
again: at the earliest due time, at once when woken (a new alarm, an ack), and at least
every `poll_s` so that alarms created by another process are not missed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import Clock
from dispatcher.config import Settings
from dispatcher.logs import about
from dispatcher.metrics import Metrics
from dispatcher.passloop import PassLoop
from dispatcher.rules.policy import AlarmKind
from dispatcher.store import escalation as store
from dispatcher.store.offline_alarms import check_offline_terminals

_BATCH = 100
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
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(clock=clock, logger=logger, poll_s=poll_s, grace_s=_GRACE_S)
        # told when a pass queued notifications, so the notifier sends them at once
        self._on_queued = on_queued
        self._settings = settings
        self._sessions = sessions
        self._metrics = metrics
        self._skip_locked = skip_locked
        self.fired = 0
        self.queued = 0

    async def run_once(self) -> int:
        """Fire everything due now; returns how many alarms moved."""
        hb = self._settings.heartbeat
        if hb.offline_alarms:
            async with self._sessions.begin() as session:
                liveness = await check_offline_terminals(
                    session=session,
                    now=self._clock.now(),
                    interval_s=hb.interval_s,
                    offline_after_missed=hb.offline_after_missed,
                    limit=_BATCH,
                    skip_locked=self._skip_locked,
                )
            self._metrics.alarms_opened.labels(AlarmKind.DEVICE.value).inc(len(liveness.opened))
            for alarm_id in liveness.opened:
                device_id = liveness.device_of[alarm_id]
                self._log.info(
                    "alarm %d opened: terminal offline", alarm_id, extra=about(alarm_id, device_id)
                )
            for alarm_id in liveness.resolved:
                device_id = liveness.device_of[alarm_id]
                self._log.info(
                    "alarm %d closed: terminal back", alarm_id, extra=about(alarm_id, device_id)
                )
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
        return moved

    async def next_due(self) -> datetime | None:
        async with self._sessions() as session:
            return await store.next_wake(
                session=session, ack_timeout_s=self._settings.alarms.ack_timeout_s
            )
