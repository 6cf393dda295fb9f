"""Two escalation engines on one PostgreSQL database, as the processes of a large city
run them: 200 presses arrive at once, every step waits one second, and when the chains
have run out the outbox holds exactly what the policy says, no row twice, none missing,
with each step fired by one engine only and both engines having done part of the work.

Once with two engines in this process, each on its own connection pool, and once with
the second engine in a process of its own (`harness/engine_process.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import SystemClock
from dispatcher.engine.runner import Engine
from dispatcher.metrics import Metrics
from dispatcher.rules.escalation import EXHAUSTED_STEP
from dispatcher.store.db import create_engine, session_factory
from dispatcher.store.models import Alarm, Contact, EventLog, Notification, User, Worker
from harness.city import seed_city
from harness.engine_process import POLL_S, short_settings
from harness.mqtt import wait_for

pytestmark = pytest.mark.postgres

Sessions = async_sessionmaker[AsyncSession]
# alarm id, purpose, step, round, recipient key, channel: the outbox's unique key
Row = tuple[int | None, str, int, int, str, str]  # alarm_id: None for a message about no alarm
# alarm id, kind, step, round: one decision on the alarm's timeline
Decision = tuple[int, str, int, int]

ALARMS = 200
# three one-second steps: the chains run out about four seconds after the presses
DEADLINE_S = 30.0
REPO = Path(__file__).resolve().parents[2]
# the whole day, every day: whoever is on duty does not depend on when the test runs
ALL_DAY = {"days": "mon-sun", "start": "00:00", "end": "00:00"}
DAY = "worker:w-day"
BOSS = "supervisor:boss"


@asynccontextmanager
async def pool(url: str) -> AsyncIterator[Sessions]:
    """A connection pool of its own, as a second process would have."""
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def escalation_engine(url: str, sessions: Sessions, name: str) -> Engine:
    return Engine(
        short_settings(url),
        sessions=sessions,
        clock=SystemClock(),
        metrics=Metrics(),
        skip_locked=True,
        logger=logging.getLogger(f"test.{name}"),
        poll_s=POLL_S,
    )


async def seed(sessions: Sessions) -> dict[str, int]:
    """The kangqiao community with 200 residents: the day worker on duty around the
    clock, the night worker never, and a supervisor. Returns each resident's first
    contact."""
    await seed_city(sessions, residents=ALARMS, night_worker=True)
    async with sessions.begin() as session:
        await session.execute(update(Worker).where(Worker.id == "w-day").values(shifts=[ALL_DAY]))
        await session.execute(update(Worker).where(Worker.id == "w-night").values(shifts=[]))
        session.add(
            User(
                username="boss",
                role="supervisor",
                password_hash="-",
                phone="+8613700000001",
                created_at=SystemClock().now(),
            )
        )
        firsts = await session.execute(
            select(Contact.resident_id, Contact.id).where(Contact.priority == 1)
        )
        return dict(firsts.all())


async def press_all(sessions: Sessions) -> dict[int, str]:
    """Every resident presses SOS at once; returns the alarms and their residents."""
    now = SystemClock().now()
    alarms = [
        Alarm(
            device_id=f"T-{i:04d}",
            resident_id=f"r-{i:04d}",
            kind="emergency",
            type="sos",
            status="open",
            priority=1,
            created_at=now,
            escalation_started=False,
            step=0,
            round=0,
            next_step_at=now,
            escalation_exhausted=False,
        )
        for i in range(1, ALARMS + 1)
    ]
    async with sessions.begin() as session:
        session.add_all(alarms)
    return {a.id: a.resident_id for a in alarms if a.resident_id is not None}


def expected_outbox(alarms: dict[int, str], first_contact: dict[str, int]) -> Counter[Row]:
    """What the short policy queues for one alarm nobody takes, for every alarm."""
    rows: Counter[Row] = Counter()
    for alarm, resident in alarms.items():
        contact = f"contact:{first_contact[resident]}"
        rows.update(
            [
                (alarm, "step", 0, 0, "operators", "dashboard"),
                (alarm, "step", 1, 0, DAY, "sms"),
                (alarm, "step", 1, 0, DAY, "voice"),
                (alarm, "step", 2, 0, contact, "sms"),
                (alarm, "exhausted", EXHAUSTED_STEP, 0, BOSS, "dashboard"),
                (alarm, "exhausted", EXHAUSTED_STEP, 0, BOSS, "sms"),
            ]
        )
    return rows


def expected_timeline(alarms: dict[int, str]) -> Counter[Decision]:
    steps = [("step_fired", 0), ("step_fired", 1), ("step_fired", 2), ("exhausted", 2)]
    return Counter((alarm, kind, step, 0) for alarm in alarms for kind, step in steps)


async def all_exhausted(sessions: Sessions) -> bool:
    async with sessions() as session:
        left = await session.scalar(
            select(Alarm.id).where(Alarm.escalation_exhausted.is_(False)).limit(1)
        )
        return left is None


async def outbox(sessions: Sessions) -> Counter[Row]:
    async with sessions() as session:
        found = await session.execute(
            select(
                Notification.alarm_id,
                Notification.purpose,
                Notification.step,
                Notification.round,
                Notification.recipient_key,
                Notification.channel,
            )
        )
        return Counter(
            (alarm, purpose, step, round_, recipient, channel)
            for alarm, purpose, step, round_, recipient, channel in found
        )


async def timeline(sessions: Sessions) -> Counter[Decision]:
    async with sessions() as session:
        found = await session.scalars(select(EventLog).where(EventLog.actor == "engine"))
        return Counter(
            (e.alarm_id or 0, e.kind, (e.data or {})["step"], (e.data or {})["round"])
            for e in found
        )


async def assert_each_step_once(
    sessions: Sessions, alarms: dict[int, str], first_contact: dict[str, int]
) -> None:
    assert len(alarms) == ALARMS
    want = expected_outbox(alarms, first_contact)
    got = await outbox(sessions)
    assert not got - want, f"unexpected or duplicate rows: {sorted((got - want).items())[:5]}"
    assert not want - got, f"missing rows: {sorted((want - got).items())[:5]}"
    # the unique key would hide a step queued twice; the timeline would not
    decisions = await timeline(sessions)
    assert decisions == expected_timeline(alarms), sorted(decisions - expected_timeline(alarms))
    async with sessions() as session:
        found = await session.execute(select(Alarm.status, Alarm.step, Alarm.next_step_at))
        states = {(status, step, due) for status, step, due in found}
    assert states == {("open", 2, None)}


def assert_no_failed_pass(caplog: pytest.LogCaptureFixture) -> None:
    failed = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failed, failed


async def test_two_engines_with_their_own_pools_fire_each_step_once(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with pool(pg_url) as sessions:
        first_contact = await seed(sessions)
        async with pool(pg_url) as pool_a, pool(pg_url) as pool_b:
            one = escalation_engine(pg_url, pool_a, "one")
            two = escalation_engine(pg_url, pool_b, "two")
            async with one, two:
                await wait_for(lambda: one.passes and two.passes)
                alarms = await press_all(sessions)
                await wait_for(lambda: all_exhausted(sessions), within=DEADLINE_S)

        await assert_each_step_once(sessions, alarms, first_contact)
        # 4 decisions and 6 rows per alarm, none of them made twice
        assert (one.fired + two.fired, one.queued + two.queued) == (4 * ALARMS, 6 * ALARMS)
        assert one.fired > 0, "the second engine did all the work"
        assert two.fired > 0, "the first engine did all the work"
        assert_no_failed_pass(caplog)


@asynccontextmanager
async def engine_process(url: str, run_dir: Path) -> AsyncIterator[Path]:
    """The second engine, in a process of its own; yields the directory it reports to."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "harness.engine_process",
        url,
        str(run_dir),
        "--timeout",
        str(DEADLINE_S * 2),
        cwd=REPO,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield run_dir
    finally:
        (run_dir / "stop").touch()
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=15)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    errors = stderr.decode(errors="replace")
    assert process.returncode == 0, errors
    assert "pass failed" not in errors, errors


async def test_an_engine_in_a_second_process_shares_the_alarms(
    pg_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with pool(pg_url) as sessions:
        first_contact = await seed(sessions)
        async with engine_process(pg_url, tmp_path) as run_dir, pool(pg_url) as own:
            here = escalation_engine(pg_url, own, "here")
            async with here:
                await wait_for(lambda: here.passes and (run_dir / "ready").exists(), within=20)
                alarms = await press_all(sessions)
                await wait_for(lambda: all_exhausted(sessions), within=DEADLINE_S)
        there: dict[str, int] = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))

        await assert_each_step_once(sessions, alarms, first_contact)
        fired = (here.fired, there["fired"])
        assert sum(fired) == 4 * ALARMS, fired
        assert here.queued + there["queued"] == 6 * ALARMS
        assert min(fired) > 0, f"one engine did all the work: {fired}"
        assert_no_failed_pass(caplog)
