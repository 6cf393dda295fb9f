"""Queueing notifications: insert-once rows, whatever retries or second engines do."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from devices.events import CommandType
from dispatcher.rules.escalation import Notify, Recipient
from dispatcher.rules.notifications import Purpose, Status
from dispatcher.rules.policy import Channel
from dispatcher.store.db import is_postgresql
from dispatcher.store.models import Notification

_TABLE: Any = Notification.__table__


def base_row(
    *,
    alarm_id: int | None,
    purpose: Purpose,
    recipient_key: str,
    recipient_name: str,
    phone: str | None,
    language: str,
    channel: str,
    now: datetime,
    step: int = 0,
    round_: int = 0,
    subject: str | None = None,
    body: dict[str, Any] | None = None,
    message: str = "",
) -> dict[str, Any]:
    """One outbox row. Its unique key (alarm, purpose, round, step, recipient, channel,
    message) says what counts as the same message: queueing it again is nothing. A
    message about no single alarm has `alarm_id` None and a `subject` (what it is about,
    e.g. `checkin:kangqiao:2026-12-01`): the same subject, purpose, recipient and channel
    are queued once."""
    if alarm_id is None and not subject:
        raise ValueError("a message about no alarm needs a subject")
    return {
        "alarm_id": alarm_id,
        "subject": subject,
        "purpose": purpose.value,
        "step": step,
        "round": round_,
        "recipient_key": recipient_key,
        "recipient_name": recipient_name,
        "phone": phone,
        "language": language,
        "channel": channel,
        "message": message,
        "body": body,
        "status": Status.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def notification_row(
    notify: Notify,
    *,
    alarm_id: int | None,
    purpose: Purpose,
    now: datetime,
    subject: str | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    person = notify.recipient
    return base_row(
        alarm_id=alarm_id,
        purpose=purpose,
        recipient_key=person.key,
        recipient_name=person.name,
        phone=person.phone,
        language=person.language,
        channel=notify.channel.value,
        now=now,
        step=notify.step,
        round_=notify.round,
        subject=subject,
        body=body,
    )


def sms_rows(
    people: Iterable[Recipient],
    *,
    purpose: Purpose,
    subject: str,
    body: dict[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """An SMS about no single alarm (`subject` says what) to each of `people` who can
    get one."""
    return [
        notification_row(
            Notify(person, Channel.SMS, 0, 0),
            alarm_id=None,
            purpose=purpose,
            now=now,
            subject=subject,
            body=body,
        )
        for person in people
        if person.reachable_by(Channel.SMS)
    ]


def command_row(
    *, alarm_id: int, device_id: str, command: CommandType, now: datetime
) -> dict[str, Any]:
    """A command to the terminal (help_coming, alarm_closed), sent after the commit; its
    words are the catalog's, filled in when it is sent. Each command is a message of its
    own: one of each type per alarm, whatever the retries."""
    row = base_row(
        alarm_id=alarm_id,
        purpose=Purpose.COMMAND,
        recipient_key=f"terminal:{device_id}",
        recipient_name=device_id,
        phone=None,
        language="zh-CN",
        channel="terminal",
        now=now,
        message=command.value,
    )
    row["body"] = {"type": command.value, "device_id": device_id}
    return row


async def add(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows, skipping any already queued (the unique key); returns how many
    were new."""
    if not rows:
        return 0
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    # parameters apart from the statement: one statement compiled once and cached, sent
    # as a multi-row INSERT in batches ("insertmanyvalues"); a VALUES list built in the
    # statement was compiled anew for each pass, 15% of the CPU under a burst of presses
    stmt = insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id)
    result = await session.execute(stmt, list(rows))
    return len(result.all())
