"""The event log: append-only, every terminal event, rejection, alarm action, escalation
step and notification result, in order. One way to write a line of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dispatcher.store.models import EventLog

# a payload over the protocol's limit is kept only in part: enough to diagnose it
RAW_KEEP_BYTES = 4096


def log_entry(
    kind: str,
    *,
    at: datetime,
    actor: str | None,
    alarm_id: int | None = None,
    device_id: str | None = None,
    event_id: str | None = None,
    type_: str | None = None,
    data: dict[str, Any] | None = None,
    raw: str | None = None,
) -> EventLog:
    """One line. `kind` says what happened (device_event, rejected, alarm_opened, ack,
    resolve, resolved, step_fired, notification_sent, ...); `actor` who did it."""
    return EventLog(
        at=at,
        kind=kind,
        actor=actor,
        alarm_id=alarm_id,
        device_id=device_id,
        event_id=event_id,
        type=type_,
        data=data,
        raw=raw,
    )


def raw_text(raw: bytes) -> str:
    """A rejected payload as text, lossless for UTF-8, with its size when cut."""
    kept = raw[:RAW_KEEP_BYTES]
    text = kept.decode("utf-8", errors="backslashreplace")
    if len(raw) > RAW_KEEP_BYTES:
        text += f"\n... [{len(raw)} bytes in all, first {RAW_KEEP_BYTES} kept]"
    return text
