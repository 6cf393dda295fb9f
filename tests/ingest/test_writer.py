"""A batch whose write fails for another reason than a duplicate: the bad item is
isolated and the others go through (issue 9 §2). On both databases, with a trigger
that refuses chosen event_ids: a real failure of the database, for one item only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devices.events import AckResult, EventType, Rejection, TerminalEvent
from dispatcher.ingest.writer import ATTEMPTS, BatchWriter
from dispatcher.metrics import Metrics
from dispatcher.store.db import create_engine, is_sqlite, session_factory
from dispatcher.store.models import Alarm, EventLog
from harness.city import seed_city

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)

SQLITE_POISON = """
CREATE TRIGGER poison BEFORE INSERT ON event_log
WHEN NEW.event_id LIKE 'poison%' AND NEW.kind != 'unstorable'
BEGIN SELECT RAISE(ABORT, 'poisoned'); END
"""
PG_POISON = (
    """
CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.event_id LIKE 'poison%' AND NEW.kind <> 'unstorable' THEN
    RAISE EXCEPTION 'poisoned' USING ERRCODE = 'data_exception';
  END IF;
  RETURN NEW;
END $$
""",
    "CREATE TRIGGER poison BEFORE INSERT ON event_log FOR EACH ROW EXECUTE FUNCTION poison()",
)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            for statement in (SQLITE_POISON,) if is_sqlite(engine) else PG_POISON:
                await conn.execute(text(statement))
        yield session_factory(engine)
    finally:
        await engine.dispose()


def writer(
    sessions: Sessions, *, attempts: int = ATTEMPTS, first_delay_s: float = 0.2
) -> BatchWriter:
    return BatchWriter(
        sessions,
        cancel_closes_emergency=False,
        metrics=Metrics(),
        logger=logging.getLogger("test.writer"),
        attempts=attempts,
        first_delay_s=first_delay_s,
    )


def sos(device_id: str, event_id: str) -> TerminalEvent:
    return TerminalEvent(device_id=device_id, event_id=event_id, type=EventType.SOS, ts=NOW)


async def test_the_presses_beside_an_item_that_cannot_be_stored_go_through(
    sessions: Sessions,
) -> None:
    city = await seed_city(sessions)
    t1, t2, t3 = city.terminals
    batch_writer = writer(sessions)
    bad_rejection = Rejection(
        topic="p/terminals/T-0002/event",
        reason="unknown event type 'x'",
        raw=b"{}",
        device_id=t2,
        event_id="poison-2",
    )
    result = await batch_writer.write(
        [sos(t1, "sos-1"), sos(t2, "poison-1"), bad_rejection, sos(t3, "sos-3")], NOW
    )

    answers = {(r.device_id, r.event_id): r.result for r in result.replies}
    assert answers == {
        (t1, "sos-1"): AckResult.ACCEPTED,
        (t3, "sos-3"): AckResult.ACCEPTED,
        # a rejection is answered whether or not its line could be written
        (t2, "poison-2"): AckResult.REJECTED,
        # the press that could not be stored is not answered: its terminal repeats it
    }
    assert batch_writer.unstorable == 2
    async with sessions() as session:
        alarms = set(await session.scalars(select(Alarm.device_id)))
        unstorable = set(
            await session.scalars(select(EventLog.event_id).where(EventLog.kind == "unstorable"))
        )
    assert alarms == {t1, t3}
    assert unstorable == {"poison-1", "poison-2"}

    # once it can be stored, the repeated press is taken as any other
    again = await batch_writer.write([sos(t2, "poison-1"), sos(t1, "sos-1")], NOW)
    assert {(r.event_id, r.result) for r in again.replies} == {
        ("sos-1", AckResult.DUPLICATE)
    }  # poison-1 still refused by the trigger
    assert batch_writer.unstorable == 3


async def test_a_database_that_stays_away_gives_the_batch_up() -> None:
    """Nothing is answered, so the terminals repeat; the listener goes on with the next."""
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    try:
        batch_writer = writer(session_factory(engine), attempts=2, first_delay_s=0.01)
        with pytest.raises(OSError):  # noqa: PT011 - whatever the driver says of a refusal
            await batch_writer.write([sos("T-0001", "e1")], NOW)
        assert batch_writer.unstorable == 0
    finally:
        await engine.dispose()
