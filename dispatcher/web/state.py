"""What the web layer is given by the composition root: typed app keys, no globals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.catalog import Phrase
from dispatcher.clock import Clock
from dispatcher.config import Settings
from dispatcher.metrics import Metrics
from dispatcher.pgbus import PgBus
from dispatcher.phones.bridge import CallBridge
from dispatcher.store.changes import Changes


@dataclass(frozen=True)
class WebDeps:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    metrics: Metrics
    # True when the broker connection is up; supplied by whoever owns the listener
    broker_ok: Callable[[], bool]
    # the process's LISTEN/NOTIFY connection (PostgreSQL), for the live feed
    bus: PgBus | None = None
    # told what a request's commit changed (`dispatcher.after_commit`)
    after_commit: Callable[[Changes], None] | None = None
    # rings an operator's phone, then whom they call from the alarm view (docs/api.md)
    bridge: CallBridge | None = None
    # answers an SMS reply by an SMS of its own (Alibaba Cloud: phone, phrase, language)
    answer_sms: Callable[[str, Phrase, str], Awaitable[object]] | None = None
    # set once the database answers and is migrated (None: it is already); HTTP serves
    # /healthz before that, and what reads the database in the background waits for it
    database_ready: asyncio.Event | None = None

    def told(self, changes: Changes) -> None:
        if self.after_commit is not None:
            self.after_commit(changes)


DEPS = web.AppKey("deps", WebDeps)


def liveness_of(deps: WebDeps) -> tuple[int, int]:
    """(heartbeat interval, missed beats before offline): what `is_online` needs."""
    hb = deps.settings.heartbeat
    return hb.interval_s, hb.offline_after_missed
