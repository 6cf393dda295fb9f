"""The live follower reads the event log by change (`views.log_cursor`): every line
committed is news once it is seen, whatever order the transactions commit in, and a
look costs the lines written since the last one, not the alarms open.

The rule is tested against a model of the database: transactions take ids in order
and commit in any order; a look sees what has committed."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.store.db import create_engine, session_factory
from dispatcher.store.models import Alarm, EventLog
from dispatcher.views.log_cursor import GAP_KEEP_S, MAX_GAPS, LogCursor
from dispatcher.views.operators_queue import queue_items
from dispatcher.web.live_hub import Hub
from dispatcher.web.live_sources import Follower

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


def _cursor(top: int = 0, *, gap_keep_s: float = GAP_KEEP_S, max_gaps: int = MAX_GAPS) -> LogCursor:
    cursor = LogCursor(gap_keep_s=gap_keep_s, max_gaps=max_gaps)
    cursor.start(top)
    return cursor


def _look(cursor: LogCursor, committed: dict[int, int | None], now: float) -> dict[int, int]:
    """What the follower's query returns, from `committed` (id -> alarm id)."""
    assert cursor.top is not None
    lines = [(i, alarm) for i, alarm in committed.items() if i > cursor.top or i in cursor.gaps]
    return cursor.advance(lines, now=now)


def test_lines_above_the_top_name_their_alarms_and_move_it() -> None:
    cursor = _cursor(10)
    assert cursor.advance([(11, 1), (12, None), (13, 2), (14, 1)], now=0.0) == {1: 14, 2: 13}
    assert (cursor.top, cursor.gaps) == (14, {})
    assert cursor.advance([], now=1.0) == {}
    assert cursor.top == 14


def test_a_line_committed_late_is_read_from_its_hole() -> None:
    cursor = _cursor(10)
    assert cursor.advance([(11, 1), (13, 3)], now=0.0) == {1: 11, 3: 13}
    assert cursor.gaps == {12: 0.0}
    assert cursor.advance([(12, 2), (14, 4)], now=1.0) == {2: 12, 4: 14}
    assert (cursor.top, cursor.gaps) == (14, {})


def test_a_hole_that_never_fills_is_dropped_after_its_time() -> None:
    cursor = _cursor(10, gap_keep_s=60.0)
    cursor.advance([(12, 2)], now=0.0)
    cursor.advance([], now=59.9)
    assert cursor.gaps == {11: 0.0}
    cursor.advance([], now=60.0)
    assert cursor.gaps == {}


def test_a_jump_keeps_only_the_newest_holes() -> None:
    cursor = _cursor(0, max_gaps=5)
    cursor.advance([(1_000_000, 7)], now=0.0)
    assert sorted(cursor.gaps) == [999_995, 999_996, 999_997, 999_998, 999_999]
    assert cursor.top == 1_000_000


def test_advance_before_start_is_a_mistake() -> None:
    with pytest.raises(RuntimeError):
        LogCursor().advance([(1, 1)], now=0.0)


@pytest.mark.parametrize("seed", range(200))
def test_every_line_committed_in_any_order_is_told_once(seed: int) -> None:
    """Transactions take ids in order and commit in a random order, some roll back
    (their ids never come), looks fall anywhere: each look names exactly the alarms of
    the lines committed since the last one, so none is missed and none told twice."""
    rnd = random.Random(seed)
    cursor = _cursor(0, gap_keep_s=1e9)
    committed: dict[int, int | None] = {}
    in_flight: list[tuple[int, int | None]] = []
    told: set[int] = set()  # line ids
    next_id, now = 1, 0.0

    def look() -> None:
        nonlocal now
        now += 1.0
        news = {i: alarm for i, alarm in committed.items() if i not in told}
        expected: dict[int, int] = {}
        for line_id, alarm in news.items():
            if alarm is not None:
                expected[alarm] = max(line_id, expected.get(alarm, 0))
        assert _look(cursor, committed, now) == expected, seed
        told.update(news)

    for _ in range(300):
        action = rnd.random()
        if action < 0.4:  # a transaction takes an id
            in_flight.append((next_id, rnd.choice([None, *range(1, 20)])))
            next_id += 1
        elif action < 0.7 and in_flight:  # one ends: mostly a commit, now and then not
            line_id, alarm = in_flight.pop(rnd.randrange(len(in_flight)))
            if rnd.random() < 0.9:
                committed[line_id] = alarm
        else:
            look()
    committed.update(in_flight)
    look()
    assert told == committed.keys()


class _Screens:
    """What the follower needs of the hub, and a record of the alarms it was told of."""

    def __init__(self, settings: Settings, sessions: Sessions) -> None:
        self.deps = SimpleNamespace(settings=settings, sessions=sessions, clock=ManualClock(NOW))
        self.told: list[set[int]] = []

    def touch(self, alarm_ids: Iterable[int], *, local: bool = True) -> None:
        self.told.append(set(alarm_ids))

    def touch_terminals(self, device_ids: Iterable[str], *, local: bool = True) -> None:
        pass

    async def end_lapsed_sessions(self) -> None:
        pass


def _line(alarm_id: int | None) -> EventLog:
    return EventLog(at=NOW, kind="note", alarm_id=alarm_id, actor="op-1", data={})


async def test_the_follower_tells_the_alarms_whose_log_grew(
    db_url: str, sessions: Sessions, settings_for: Callable[..., Settings]
) -> None:
    screens = _Screens(settings_for(db_url), sessions)
    follower = Follower(cast(Hub, screens), sweep_every=1000)
    async with sessions.begin() as session:
        session.add(_line(1))
    await follower.look()  # the first look only learns where the log stands
    await follower.look()
    assert screens.told == []
    async with sessions.begin() as session:
        session.add_all([_line(2), _line(None), _line(3), _line(2)])
    await follower.look()
    assert screens.told == [{2, 3}]
    await follower.look()
    assert screens.told == [{2, 3}]  # nothing new, nobody told


async def test_a_line_committed_after_a_later_one_is_told(
    pg_url: str, settings_for: Callable[..., Settings]
) -> None:
    """PostgreSQL: ids are taken at INSERT, seen at COMMIT."""
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    try:
        screens = _Screens(settings_for(pg_url), sessions)
        follower = Follower(cast(Hub, screens), sweep_every=1000)
        await follower.look()
        async with sessions() as slow:
            await slow.begin()
            slow.add(_line(10))
            await slow.flush()  # its id taken, not committed
            async with sessions.begin() as quick:
                quick.add(_line(11))
            await follower.look()
            assert screens.told == [{11}]
            await slow.commit()
        await follower.look()
        assert screens.told == [{11}, {10}]
        await follower.look()
        assert screens.told == [{11}, {10}]
    finally:
        await engine.dispose()


async def test_a_change_the_cursor_cannot_see_waits_for_the_sweep(
    db_url: str, sessions: Sessions, settings_for: Callable[..., Settings]
) -> None:
    """A line written below the cursor's top, in no hole (a transaction open longer than
    its hole is kept): the sweep of every unresolved alarm's revision finds it."""
    screens = _Screens(settings_for(db_url), sessions)
    follower = Follower(cast(Hub, screens), sweep_every=3)
    async with sessions.begin() as session:
        session.add(alarm := Alarm(kind="device", type="offline", priority=3, created_at=NOW))
        await session.flush()
        session.add(_line(alarm.id))
        await session.flush()
        session.add_all([_line(None) for _ in range(4)])
    await follower.look()  # look 0: learns the log and the revisions
    async with sessions.begin() as session:
        # the third line becomes the alarm's: below the top, in no hole
        third = await session.scalar(select(EventLog.id).order_by(EventLog.id).offset(2).limit(1))
        assert third is not None
        await session.execute(delete(EventLog).where(EventLog.id == third))
        session.add(EventLog(id=third, at=NOW, kind="note", alarm_id=alarm.id, data={}))
    await follower.look()
    await follower.look()
    assert screens.told == []  # the cursor reads above its top: nothing
    await follower.look()  # look 3: the sweep
    assert screens.told == [{alarm.id}]


async def test_queue_lines_of_a_storm_are_read_in_shares(sessions: Sessions) -> None:
    """More alarms than a statement takes values (asyncpg: 32,767)."""
    async with sessions.begin() as session:
        session.add_all(
            alarms := [
                Alarm(kind="device", type="offline", priority=3, created_at=NOW) for _ in range(3)
            ]
        )
    wanted = {a.id for a in alarms} | set(range(10**6, 10**6 + 40_000))
    async with sessions() as session:
        items = await queue_items(session=session, alarm_ids=wanted)
    assert sorted(item["id"] for item in items) == sorted(a.id for a in alarms)
