"""The engine's look for check-in windows without a deadline runs at each look at
terminals and almost always finds none: a partial index answers it, where PostgreSQL
read every resident to find none (26 ms in a city of 100,000)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from dispatcher.engine.checkins import windows_without_deadline
from dispatcher.store.db import create_engine, is_sqlite, session_factory
from dispatcher.store.models import Community, Resident
from harness.plans import kept_plan


async def test_windows_without_a_deadline_are_found_by_their_index(db_url: str) -> None:
    """In a settled city: three in five residents with a window, each with its deadline,
    the others without either, the statistics read: the partial index is what serves
    the look, not a scan of the residents or of the deadlines' NULLs."""
    engine = create_engine(db_url)
    try:
        async with session_factory(engine).begin() as session:
            session.add(Community(id="c1", name="康桥社区", street="纬北路街道", district="天桥区"))
            await session.flush()
            due = datetime(2026, 12, 8, 2, tzinfo=UTC)
            session.add_all(
                Resident(
                    id=f"r-{i:05d}",
                    community_id="c1",
                    name="王秀英",
                    address="康桥路1号",
                    checkin_window="08:00-10:00" if i % 5 < 3 else None,
                    checkin_due_at=due if i % 5 < 3 else None,
                )
                for i in range(5000)
            )
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE residents"))
            await conn.commit()
    finally:
        await engine.dispose()
    plan = await kept_plan(db_url, windows_without_deadline().limit(100), scans=True)
    if is_sqlite(db_url):
        # SQLite takes an index too: none reads every resident
        assert "USING INDEX" in plan, plan
    else:
        assert "ix_residents_checkin_unset" in plan, plan
