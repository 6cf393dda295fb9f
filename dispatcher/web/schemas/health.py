"""`GET /healthz`."""

from __future__ import annotations

from typing import Literal

from dispatcher.web.schemas.base import Answer


class Health(Answer):
    status: Literal["ok", "unavailable"]
    database: str | None = None
    """Only when it is not reachable: why."""
    broker: str | None = None
    """Only when it is not connected."""
    starting: bool | None = None
    """Only while the service starts: it waits for its database (and migrates it)."""
