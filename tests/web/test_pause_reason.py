"""A check-in pause's reason ("住院治疗") is health data, treated as the medical notes
are: operators read it only while the resident has an alarm not resolved (in today's
list and on the card), supervisors and administrators always; every read of it is a
line of the audit log; the service's log never holds it. On both databases."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from dispatcher.config import Settings
from dispatcher.store.models import AuditEntry
from dispatcher.users.accounts import Role
from harness.city import new_sos, seed_city
from tests.web.helpers import bearer, web_only

SettingsFor = Callable[..., Settings]
REASON = "住院治疗"


async def test_a_pause_reason_is_read_as_medical_notes_are(
    db_url: str, settings_for: SettingsFor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the service logs at info (debug shows SQL parameters)
    async with web_only(settings_for(db_url)) as w:
        await seed_city(w.sessions, residents=2)
        await w.add_user("op1", Role.OPERATOR)
        await w.add_user("sup1", Role.SUPERVISOR)
        op, sup = [
            {"Authorization": f"Bearer {await bearer(w.client, name)}"} for name in ("op1", "sup1")
        ]
        for resident in ("r-0001", "r-0002"):
            body = {"window": "07:00-10:00", "paused_until": "2026-12-31", "reason": REASON}
            async with w.client.put(
                f"/api/residents/{resident}/checkin", json=body, headers=sup
            ) as response:
                assert response.status == 200
                assert (await response.json())["pause_reason"] == REASON

        async def listed(headers: dict[str, str]) -> dict[str, Any]:
            async with w.client.get("/api/checkins", headers=headers) as response:
                assert response.status == 200
                return {line["resident_id"]: line for line in await response.json()}

        async def reads() -> list[tuple[str, str | None]]:
            async with w.sessions() as session:
                rows = await session.execute(
                    select(AuditEntry.actor, AuditEntry.resident_id)
                    .where(AuditEntry.action == "view_pause_reason")
                    .order_by(AuditEntry.id)
                )
                return [(a, r) for a, r in rows]

        # an operator, outside any alarm: neither in the list nor on the card
        for line in (await listed(op)).values():
            assert (line["pause_reason"], line["pause_reason_withheld"]) == (None, True)
        async with w.client.get("/api/residents/r-0001", headers=op) as response:
            checkin = (await response.json())["checkin"]
            assert (checkin["pause_reason"], checkin["pause_reason_withheld"]) == (None, True)
        assert await reads() == []
        # a supervisor reads them, each read audited
        for line in (await listed(sup)).values():
            assert line["pause_reason"] == REASON
        assert sorted(await reads()) == [("sup1", "r-0001"), ("sup1", "r-0002")]
        # an operator while r-0001 has an alarm: that one's, audited
        async with w.sessions.begin() as session:
            session.add(new_sos(w.clock.now()))
        lines = await listed(op)
        assert lines["r-0001"]["pause_reason"] == REASON
        assert (lines["r-0002"]["pause_reason"], lines["r-0002"]["pause_reason_withheld"]) == (
            None,
            True,
        )
        assert (await reads())[-1] == ("op1", "r-0001")
        assert len(await reads()) == 3
    logged = [r.getMessage() for r in caplog.records]
    assert any("check-in of resident r-0001 set by sup1" in m for m in logged)
    assert not [m for m in logged if REASON in m]
