"""The audit log: who read or changed a resident's record, and who took data out.

Append-only: this module writes lines and reads them; nothing here or anywhere else
updates or deletes one, and the database refuses it (triggers of migration 0060).
A line is added in the same transaction as what it records: no view is answered and no
edit committed without its line.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.store.models import AuditEntry

AUDIT_LIMIT = 200


class AuditAction(StrEnum):
    VIEW_RESIDENT = "view_resident"  # the resident's card (GET /api/residents/{id})
    VIEW_ALARM = "view_alarm"  # an alarm with its resident's card and contacts
    EDIT_RESIDENT = "edit_resident"
    EDIT_WORKERS = "edit_workers"
    EDIT_CHECKIN = "edit_checkin"
    EXPORT_ALARMS = "export_alarms"  # the history as CSV
    VIEW_PAUSE_REASON = "view_pause_reason"  # a check-in pause's reason, in today's list
    VIEW_RESPONDER = "view_responder"  # the responder's page, opened from an SMS link


def entry(
    action: AuditAction,
    *,
    actor: str,
    role: str,
    at: datetime,
    address: str | None,
    resident_id: str | None = None,
    alarm_id: int | None = None,
    community_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """One line; the caller adds it to the session of what it records."""
    return AuditEntry(
        at=at,
        actor=actor,
        role=role,
        action=action.value,
        resident_id=resident_id,
        alarm_id=alarm_id,
        community_id=community_id,
        address=(address or "")[:64] or None,
        detail=detail,
    )


async def lines(
    *,
    session: AsyncSession,
    resident_id: str | None,
    limit: int = AUDIT_LIMIT,
    before: int | None = None,
) -> list[AuditEntry]:
    """Newest first; of one resident when given; `before` (a line's id) pages back."""
    query = select(AuditEntry)
    if resident_id is not None:
        query = query.where(AuditEntry.resident_id == resident_id)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return list(await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))


def audit_json(line: AuditEntry) -> dict[str, Any]:
    return {
        "id": line.id,
        "at": line.at.isoformat(),
        "actor": line.actor,
        "role": line.role,
        "action": line.action,
        "resident_id": line.resident_id,
        "alarm_id": line.alarm_id,
        "community_id": line.community_id,
        "address": line.address,
        "detail": line.detail,
    }
