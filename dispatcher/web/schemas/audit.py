"""The audit log (`GET /api/audit`): every view and edit of a resident's record."""

from __future__ import annotations

from typing import Any

from dispatcher.store.audit import AuditAction
from dispatcher.web.schemas.base import Answer, Query, RowId, Time


class AuditQuery(Query):
    resident_id: str | None = None
    """One resident's lines; every line when left out."""
    limit: int = 200
    """At most this many (1 to 1000)."""
    before: RowId | None = None
    """A line's id: the page after it."""


class AuditLine(Answer):
    id: int
    at: Time
    actor: str
    """The username."""
    role: str
    action: AuditAction
    resident_id: str | None
    alarm_id: int | None
    community_id: str | None
    address: str | None
    """Where the request came from, as the server saw it."""
    detail: dict[str, Any] | None
    """The fields an edit changed, or an export's filters: never the values."""
