"""What the web layer is given by the composition root: typed app keys, no globals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.catalog import Phrase
from dispatcher.clock import Clock
from dispatcher.config import Settings
from dispatcher.metrics import Metrics


@dataclass(frozen=True)
class WebDeps:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    metrics: Metrics
    # True when the broker connection is up; supplied by whoever owns the listener
    broker_ok: Callable[[], bool]
    # told after a committed change to an alarm: wakes the notifier (terminal commands)
    on_alarm_changed: Callable[[int], None] | None = None
    # told after messages about no alarm were queued (or a deadline changed): wakes the
    # engine and the notifier
    on_queued: Callable[[], None] | None = None
    # answers an SMS reply by an SMS of its own (Alibaba Cloud: phone, phrase, language)
    answer_sms: Callable[[str, Phrase, str], Awaitable[object]] | None = None

    def changed(self, alarm_id: int) -> None:
        if self.on_alarm_changed is not None:
            self.on_alarm_changed(alarm_id)

    def queued(self) -> None:
        if self.on_queued is not None:
            self.on_queued()


DEPS = web.AppKey("deps", WebDeps)


def liveness_of(deps: WebDeps) -> tuple[int, int]:
    """(heartbeat interval, missed beats before offline): what `is_online` needs."""
    hb = deps.settings.heartbeat
    return hb.interval_s, hb.offline_after_missed
