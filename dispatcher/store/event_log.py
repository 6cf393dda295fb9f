"""The event log: append-only, every terminal event, rejection, alarm action, escalation
step and notification result, in order. One way to write a line of it.

Every string of a line passes through `storable`: PostgreSQL's text and JSONB cannot
hold a NUL character, nor can UTF-8 hold a lone surrogate (JSON can carry one escaped),
and a terminal can send both. A line that cannot be written would hold up the presses
written with it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from dispatcher.rules.escalation import Logged
from dispatcher.store.models import Alarm, EventLog, Notification

# a payload over the protocol's limit is kept only in part: enough to diagnose it
RAW_KEEP_BYTES = 4096

_ESCAPE = re.compile(rb"\\(?:\\|x([0-9a-f]{2}))")


def storable(text: str) -> str:
    """`text` as both databases hold it: a NUL becomes the four characters `\\x00`, a lone
    surrogate its `\\udXXX` escape; any other text comes back unchanged."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _storable_json(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(k)): _storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable_json(v) for v in value]
    return value


def _opt(text: str | None) -> str | None:
    return None if text is None else storable(text)


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
        actor=_opt(actor),
        alarm_id=alarm_id,
        device_id=_opt(device_id),
        event_id=_opt(event_id),
        type=_opt(type_),
        data=None if data is None else _storable_json(data),
        raw=_opt(raw),
    )


def alarm_entry(
    kind: str,
    alarm: Alarm,
    *,
    at: datetime,
    actor: str | None,
    type_: str | None = None,
    data: dict[str, Any] | None = None,
) -> EventLog:
    """A line of `alarm`'s timeline, under its terminal (if it has one)."""
    return log_entry(
        kind,
        at=at,
        actor=actor,
        alarm_id=alarm.id,
        device_id=alarm.device_id,
        type_=type_,
        data=data,
    )


def step_entry(alarm: Alarm, logged: Logged, *, at: datetime, actor: str) -> EventLog:
    """A line of the alarm's escalation: a step fired, skipped or ended, or the end."""
    return alarm_entry(
        logged.action,
        alarm,
        at=at,
        actor=actor,
        data={
            "step": logged.step,
            "round": logged.round,
            "detail": logged.detail,
            "facts": logged.facts,
        },
    )


def notification_entry(
    kind: str, n: Notification, *, at: datetime, actor: str | None, data: dict[str, Any]
) -> EventLog:
    """A line about a message, on its alarm's timeline (none for a message about no
    alarm): which message, by what channel, to whom, then `data`."""
    return log_entry(
        kind,
        at=at,
        actor=actor,
        alarm_id=n.alarm_id,
        data={"notification_id": n.id, "channel": n.channel, "recipient": n.recipient_name, **data},
    )


def raw_text(raw: bytes) -> tuple[str, bool]:
    """The first `RAW_KEEP_BYTES` of a payload as text, and whether it had to be escaped.
    UTF-8 without NUL is kept as it is. Anything else is escaped so that nothing is lost
    and every byte is shown: `\\` as `\\\\`, and a NUL or a byte that is not UTF-8 as
    `\\xNN`. `raw_bytes` gives the bytes back."""
    kept = raw[:RAW_KEEP_BYTES]
    if b"\x00" not in kept:
        try:
            return kept.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    text = kept.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
    return text.replace("\x00", "\\x00"), True


def raw_bytes(text: str, *, escaped: bool) -> bytes:
    """The payload bytes a `raw_text` stood for (the kept part of a long one)."""
    data = text.encode("utf-8")
    if not escaped:
        return data
    return _ESCAPE.sub(lambda m: bytes([int(m[1], 16)]) if m[1] else b"\\", data)
