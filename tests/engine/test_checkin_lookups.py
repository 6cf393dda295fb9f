"""The engine's look for check-in windows without a deadline runs at each look at
terminals and almost always finds none: a partial index answers it, where PostgreSQL
read every resident to find none (26 ms in a city of 100,000)."""

from __future__ import annotations

from dispatcher.engine.checkins import windows_without_deadline
from dispatcher.store.db import is_sqlite
from harness.plans import kept_plan


async def test_windows_without_a_deadline_are_found_by_their_index(db_url: str) -> None:
    plan = await kept_plan(db_url, windows_without_deadline().limit(100))
    if is_sqlite(db_url):
        # SQLite, without statistics, takes the deadlines' index (NULL first): no scan
        assert "USING INDEX" in plan, plan
    else:
        assert "ix_residents_checkin_unset" in plan, plan
