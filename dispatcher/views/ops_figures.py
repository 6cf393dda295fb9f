"""What an on-call engineer watches, read from the database when Prometheus scrapes:
open alarms by kind, status and age, the outbox backlog, offline terminals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules.alarms import Status
from dispatcher.store.models import Alarm, Notification, Terminal

# an open alarm's age, for the gauges: (up to seconds, label)
AGES: Final = ((60, "lt_1m"), (300, "1m_5m"), (1800, "5m_30m"))
OLDEST: Final = "over_30m"


def age_label(seconds: float) -> str:
    for limit, label in AGES:
        if seconds < limit:
            return label
    return OLDEST


@dataclass(frozen=True, slots=True)
class OpsFigures:
    open_by_age: dict[tuple[str, str, str], int] = field(default_factory=dict)
    oldest_open_s: dict[tuple[str, str], float] = field(default_factory=dict)
    outbox_pending: int = 0
    outbox_due: int = 0
    outbox_oldest_due_s: float = 0.0
    terminals: int = 0
    terminals_offline: int = 0


async def ops_figures(
    *, session: AsyncSession, now: datetime, interval_s: int, offline_after_missed: int
) -> OpsFigures:
    open_alarms = await session.execute(
        select(Alarm.kind, Alarm.status, Alarm.created_at).where(
            Alarm.status != Status.RESOLVED.value
        )
    )
    by_age: Counter[tuple[str, str, str]] = Counter()
    oldest: dict[tuple[str, str], float] = {}
    for kind, status, created_at in open_alarms:
        age = (now - created_at).total_seconds()
        by_age[kind, status, age_label(age)] += 1
        oldest[kind, status] = max(oldest.get((kind, status), 0.0), age)
    pending = Notification.status == "pending"
    outbox = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Notification.next_attempt_at <= now),
                func.min(Notification.next_attempt_at).filter(Notification.next_attempt_at <= now),
            ).where(pending)
        )
    ).one()
    silent_since = now - timedelta(seconds=interval_s * offline_after_missed)
    beating = Terminal.last_heartbeat.is_not(None)
    # as `rules.liveness.is_online`: offline unless connected and heard from lately
    offline = or_(Terminal.connected == false(), Terminal.last_seen <= silent_since)
    terminals = (
        await session.execute(select(func.count(), func.count().filter(offline)).where(beating))
    ).one()
    oldest_due = outbox[2]
    return OpsFigures(
        open_by_age=dict(by_age),
        oldest_open_s=oldest,
        outbox_pending=int(outbox[0]),
        outbox_due=int(outbox[1]),
        outbox_oldest_due_s=(now - oldest_due).total_seconds() if oldest_due else 0.0,
        terminals=int(terminals[0]),
        terminals_offline=int(terminals[1]),
    )
