"""PostgreSQL plans the dispatcher's statements for its tables as they are now, never by
a plan it kept from when they were small.

A pooled connection runs the same prepared statements all day. After five runs
PostgreSQL may keep one generic plan for a statement, costed with the table sizes of
that moment, until the next ANALYZE of its tables; so it does for the foreign-key check
inside every INSERT. A new city's outbox and alarms start empty: the bench's burst of
30,000 alarms was claimed and checked by sequential scans planned for empty tables (the
notifier sent ~1 message a second, an INSERT of 200 notifications took a second).
Autovacuum's next ANALYZE mends it within its minute where it runs; a storm's first
minute is the one that counts. Under those statistics the claim also takes its 50
before it joins their alarms: a planner expecting 8 pending rows joined all of them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatcher.store.db import create_engine, session_factory
from dispatcher.store.deliveries import claim
from dispatcher.store.models import Alarm, Notification

NOW = datetime(2026, 12, 7, 22, tzinfo=UTC)


def _message(alarm_id: int, status: str, round_: int = 0) -> dict[str, Any]:
    return {
        "alarm_id": alarm_id,
        "subject": f"alarm {alarm_id}",
        "purpose": "step",
        "step": 1,
        "round": round_,
        "recipient_key": "contact:1",
        "recipient_name": "王芳",
        "language": "zh-CN",
        "channel": "sms",
        "status": status,
        "attempts": 0,
        "next_attempt_at": NOW - timedelta(seconds=1),
        "created_at": NOW,
    }


def _alarm() -> Alarm:
    return Alarm(kind="device", type="offline", status="open", priority=3, created_at=NOW)


def _explained(engine: AsyncEngine, plans: list[str]) -> None:
    """Each connection of `engine` sends the plan of every statement it runs, the
    foreign-key checks inside them too, as the server ran it (auto_explain, with the
    rows and loops counted), to `plans`."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_log_listener(
            lambda _conn, message: plans.append(message.message)
        )
        cursor = dbapi_connection.cursor()
        for setting in (
            "LOAD 'auto_explain'",
            "SET auto_explain.log_min_duration = 0",
            "SET auto_explain.log_nested_statements = on",
            "SET auto_explain.log_analyze = on",
            "SET client_min_messages = log",
        ):
            cursor.execute(setting)
        cursor.close()

    event.listen(engine.sync_engine, "connect", on_connect)


def _plan_of(plans: list[str], statement: str) -> str:
    found = [p for p in plans if statement in p]
    assert len(found) == 1, (statement, plans)
    return found[0]


async def test_statements_run_on_tables_grown_from_empty_use_their_indexes(pg_url: str) -> None:
    engine = create_engine(pg_url)
    plans: list[str] = []
    _explained(engine, plans)
    sessions = session_factory(engine)  # one session at a time: the pool's one connection

    async def one_round(alarm_id: int, round_: int) -> int:
        """A message written for the alarm, as the engine writes one, and a claim."""
        async with sessions.begin() as session:
            await session.execute(insert(Notification), [_message(alarm_id, "sent", round_)])
            claimed = await claim(session=session, now=NOW, limit=50, skip_locked=True, owner="t")
        return claimed.handled

    try:
        async with sessions.begin() as session:
            session.add(first := _alarm())
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))  # a new city: its outbox counted empty
        for round_ in range(8):  # more than the five custom plans before a kept one
            await one_round(first.id, round_)
        async with sessions.begin() as session:  # a storm
            session.add_all(storm := [_alarm() for _ in range(5000)])
            await session.flush()
            pending = [_message(alarm.id, "pending") for alarm in storm]
            await session.execute(insert(Notification), pending)
        plans.clear()
        handled = await one_round(storm[-1].id, 1)
        assert engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
    assert handled == 50
    checked = _plan_of(plans, 'FROM ONLY "public"."alarms"')  # the new message's alarm exists
    assert "Seq Scan" not in checked, checked
    claimed = _plan_of(plans, "SKIP LOCKED")
    assert "Seq Scan on notifications" not in claimed, claimed
    assert "Seq Scan on alarms" not in claimed, claimed
    # the 50 taken are joined to their alarms, not the 5,000 pending the planner, by
    # the statistics of the empty outbox, expected to be 8
    joined = [int(n) for n in re.findall(r"on alarms .*loops=(\d+)", claimed)]
    assert joined, claimed
    assert max(joined) <= 50, claimed
