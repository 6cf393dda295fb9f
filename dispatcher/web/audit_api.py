"""The audit log over HTTP: a line for each view and edit of a resident's record (added
by the handlers that read or change one, in the same transaction), and the log itself
for supervisors and administrators (`GET /api/audit`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules.access import may_read_medical
from dispatcher.store import audit
from dispatcher.store.models import AuditEntry
from dispatcher.views.residents import has_unresolved_alarm
from dispatcher.web.auth import principal, sessions_of
from dispatcher.web.operations import Reply, given
from dispatcher.web.schemas.audit import AuditQuery
from dispatcher.web.state import DEPS

_MAX_LIMIT = 1000


def line(request: web.Request, action: audit.AuditAction, **about: Any) -> AuditEntry:
    """A line for what the caller is doing now; `about`: resident_id, alarm_id,
    community_id, detail. The address is the peer's: behind a proxy, the proxy's."""
    who = principal(request)
    return audit.entry(
        action,
        actor=who.username,
        role=who.role.value,
        at=request.app[DEPS].clock.now(),
        address=request.remote,
        **about,
    )


async def withhold_medical(
    request: web.Request, session: AsyncSession, resident: dict[str, Any] | None
) -> None:
    """Empty the medical notes of a resident's card, and the reason of a check-in pause
    (health data too: a hospital stay), where the caller's work does not need them
    (`dispatcher.rules.access`)."""
    if resident is None:
        return
    role = principal(request).role.value
    busy = await has_unresolved_alarm(session=session, resident_id=resident["id"])
    if not may_read_medical(role, resident_has_unresolved_alarm=busy):
        resident["medical"] = ""
        resident["medical_withheld"] = True
        checkin = resident.get("checkin")
        if isinstance(checkin, dict) and checkin.get("pause_reason"):
            checkin["pause_reason"] = None
            checkin["pause_reason_withheld"] = True


async def lines(request: web.Request) -> Reply:
    query = given(request, AuditQuery)
    limit = max(1, min(query.limit, _MAX_LIMIT))
    async with sessions_of(request)() as session:
        found = await audit.lines(
            session=session, resident_id=query.resident_id, limit=limit, before=query.before
        )
    return [audit.audit_json(entry) for entry in found]
