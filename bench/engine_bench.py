"""How fast one escalation engine fires due steps, and how late. A benchmark, not a test.

    .venv/bin/python -m bench.engine_bench [--db sqlite|postgres] [--alarms 1000] [--spread 5 15]

It makes a fresh database (a temporary SQLite file, or `bench_<hex>` on the machine's
PostgreSQL, dropped at the end), migrates it, seeds one community with a day and a night
worker, a supervisor and as many residents as alarms (two contacts each), then measures:

(a) throughput: every alarm due at once, one `run_once()` on a hand-moved clock fires
    step 0 of each (the operators' queue), then, a minute later, step 1 (the worker on
    duty, SMS and voice);
(b) lag: as many fresh alarms, their first steps due spread evenly over `--spread`
    seconds (5 and 15 by default: above and below what one engine keeps up with),
    while the engine loop runs on the system clock. Lag is measured twice: from the due
    time to the start of the pass that fired it (what the engine records in
    `PassResult.lags` and the `dispatcher_escalation_lag_seconds` histogram), and to the
    commit of its outbox rows (when the notifier can first see them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from dispatcher.clock import Clock, ManualClock, SystemClock
from dispatcher.config import Settings
from dispatcher.engine.runner import Engine
from dispatcher.metrics import Metrics
from dispatcher.store.db import create_engine, is_sqlite, migrate
from dispatcher.store.models import (
    Alarm,
    Community,
    Contact,
    EventLog,
    Resident,
    Terminal,
    User,
    Worker,
)

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
DAY = {"days": "mon-sun", "start": "08:00", "end": "20:00"}
NIGHT = {"days": "mon-sun", "start": "20:00", "end": "08:00"}
# the lag run's alarms come due this long after they are written, so none is late at start
LEAD_S = 1.0
LAG_DEADLINE_S = 60.0


@dataclass
class Commits:
    """When each alarm's first step became visible to others: the commit of its pass."""

    expected: int
    at: dict[int, datetime] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, alarm_ids: list[int]) -> None:
        now = datetime.now(UTC)
        for alarm_id in alarm_ids:
            self.at.setdefault(alarm_id, now)
        if len(self.at) >= self.expected:
            self.done.set()


class RecordingSession(Session):
    """A session that tells `info["commits"]` which steps it committed, and when."""


@event.listens_for(RecordingSession, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    fired = session.info.setdefault("fired", [])
    fired.extend(
        o.alarm_id for o in session.new if isinstance(o, EventLog) and o.kind == "step_fired"
    )


@event.listens_for(RecordingSession, "after_commit")
def _committed(session: Session) -> None:
    commits: Commits = session.info["commits"]
    commits.record(session.info.pop("fired", []))


@event.listens_for(RecordingSession, "after_soft_rollback")
def _rolled_back(session: Session, _previous: Any) -> None:
    session.info.pop("fired", None)


@contextlib.asynccontextmanager
async def fresh_database(kind: str) -> AsyncIterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="engine-bench-") as folder:
            yield f"sqlite+aiosqlite:///{folder}/bench.db"
        return
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_URL.format(name="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield PG_URL.format(name=name)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def seed(sessions: async_sessionmaker[AsyncSession], residents: int) -> None:
    now = datetime.now(UTC)
    ids = [f"r-{i:05d}" for i in range(1, residents + 1)]
    async with sessions.begin() as s:
        s.add(Community(id="kangqiao", name="康桥社区", street="纬北路街道", district="天桥区"))
        s.add_all(
            [
                Worker(id="w-day", community_id="kangqiao", name="张丽", phone="+8613800000001"),
                Worker(id="w-night", community_id="kangqiao", name="刘军", phone="+8613800000002"),
            ]
        )
        # nobody signs in: the supervisor is only someone to alert
        s.add(User(username="boss", role="supervisor", password_hash="!", created_at=now))  # noqa: S106
        await s.flush()
        await s.execute(update(Worker).where(Worker.id == "w-day").values(shifts=[DAY]))
        await s.execute(update(Worker).where(Worker.id == "w-night").values(shifts=[NIGHT]))
        await s.execute(
            insert(Resident),
            [
                {"id": r, "community_id": "kangqiao", "name": f"居民{r}", "address": f"{r}号"}
                for r in ids
            ],
        )
        await s.execute(
            insert(Contact),
            [
                {"resident_id": r, "name": "李娜", "phone": f"+86139{i:05d}{p}", "priority": p}
                for i, r in enumerate(ids)
                for p in (1, 2)
            ],
        )
        await s.execute(
            insert(Terminal),
            [{"device_id": f"T-{r[2:]}", "resident_id": r, "connected": True} for r in ids],
        )


async def open_alarms(
    sessions: async_sessionmaker[AsyncSession], dues: Sequence[datetime]
) -> dict[int, datetime]:
    """One open emergency per resident, the first step of each due at the given time."""
    rows = [
        {
            "device_id": f"T-{i:05d}",
            "resident_id": f"r-{i:05d}",
            "kind": "emergency",
            "type": "sos",
            "status": "open",
            "priority": 1,
            "created_at": due,
            "escalation_started": False,
            "step": 0,
            "round": 0,
            "next_step_at": due,
            "escalation_exhausted": False,
        }
        for i, due in enumerate(dues, start=1)
    ]
    async with sessions.begin() as s:
        ids = (await s.scalars(insert(Alarm).returning(Alarm.id), rows)).all()
    return dict(zip(ids, dues, strict=True))


def engine_on(db: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Engine:
    return Engine(
        Settings(),
        sessions=sessions,
        clock=clock,
        metrics=Metrics(),
        skip_locked=not is_sqlite(db),
        logger=logging.getLogger("bench.engine"),
    )


async def throughput(db: AsyncEngine, alarms: int) -> list[float]:
    """Steps/s of step 0, then of step 1."""
    rates = []
    sessions = async_sessionmaker(db, expire_on_commit=False)
    clock = ManualClock(SystemClock().now())
    await open_alarms(sessions, [clock.now()] * alarms)
    engine = engine_on(db, sessions, clock)
    print(f"(a) throughput: {alarms} alarms due at once, one run_once() each")
    for label in ("step 0, operators (1 row each)", "step 1, worker on duty (sms+voice)"):
        started = time.perf_counter()
        moved = await engine.run_once()
        took = time.perf_counter() - started
        assert moved == alarms, (moved, alarms)
        print(f"    {label:38} {moved} steps in {took:6.2f} s = {moved / took:7.0f} steps/s")
        rates.append(moved / took)
        clock.advance(60)  # the default emergency policy's first wait
    async with sessions.begin() as s:
        await s.execute(update(Alarm).values(status="resolved", next_step_at=None))
    return rates


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def describe(label: str, lags: Sequence[float]) -> None:
    p50, p99 = percentile(lags, 50), percentile(lags, 99)
    print(
        f"    {label:34} p50 {p50 * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   "
        f"max {max(lags) * 1000:7.1f} ms"
    )


@dataclass(frozen=True)
class Lags:
    pass_start: list[float]  # due -> start of the pass that fired it, seconds
    committed: list[float]  # due -> commit of its outbox rows


async def lag(db: AsyncEngine, alarms: int, spread_s: float) -> Lags:
    print(f"(b) lag: {alarms} first steps due over {spread_s:g} s, the engine loop on the clock")
    commits = Commits(expected=alarms)
    sessions = async_sessionmaker(
        db,
        expire_on_commit=False,
        sync_session_class=RecordingSession,
        info={"commits": commits},
    )
    first = SystemClock().now() + timedelta(seconds=LEAD_S)
    dues = await open_alarms(
        sessions, [first + timedelta(seconds=spread_s * i / alarms) for i in range(alarms)]
    )
    late = (SystemClock().now() - first).total_seconds()
    if late > 0:
        print(f"    (writing the alarms took {late:.2f} s too long: the first ones start late)")
    engine = engine_on(db, sessions, SystemClock())
    async with engine:
        await asyncio.wait_for(commits.done.wait(), LAG_DEADLINE_S)
    async with sessions() as s:
        fired_at = dict(
            (
                await s.execute(
                    select(EventLog.alarm_id, func.min(EventLog.at))
                    .where(EventLog.kind == "step_fired", EventLog.alarm_id.in_(dues))
                    .group_by(EventLog.alarm_id)
                )
            ).all()
        )
    lags = Lags(
        pass_start=[_s(fired_at[a] - d) for a, d in dues.items()],
        committed=[_s(commits.at[a] - d) for a, d in dues.items()],
    )
    describe("due -> pass start (engine metric)", lags.pass_start)
    describe("due -> outbox row committed", lags.committed)
    # engine.fired may miss the last pass: it counts after the commit we stop on
    print(f"    passes: {engine.passes}, first steps fired: {len(fired_at)}")
    async with sessions.begin() as s:
        await s.execute(update(Alarm).values(status="resolved", next_step_at=None))
    return lags


def _s(delta: timedelta) -> float:
    return delta.total_seconds()


async def main(kind: str, alarms: int, spreads: Sequence[float]) -> None:
    async with fresh_database(kind) as url:
        db = create_engine(url)
        try:
            await migrate(db)
            started = time.perf_counter()
            await seed(async_sessionmaker(db, expire_on_commit=False), alarms)
            print(f"engine bench on {db.dialect.name}: {alarms} residents, {alarms} alarms")
            print(f"    seeded in {time.perf_counter() - started:.2f} s")
            await throughput(db, alarms)
            for spread_s in spreads:
                await lag(db, alarms, spread_s)
        finally:
            await db.dispose()


def cli() -> None:
    parser = argparse.ArgumentParser(description="Escalation engine benchmark")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--alarms", type=int, default=1000)
    parser.add_argument(
        "--spread",
        type=float,
        nargs="+",
        default=[5.0, 15.0],
        help="seconds over which the alarms of (b) come due; one run of (b) for each",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.db, args.alarms, args.spread))


if __name__ == "__main__":
    cli()
