"""Daily check-ins in the engine's pass and on the workers' screens (docs/daily-care.md):
`rules.checkins` decides; this reads the residents whose deadline has come, opens the
missed check-ins and sends each community's morning list (today's state, as the
workers' screens show it, is `dispatcher.views.checkins`).

Deadlines live on the resident (`checkin_due_at`: the end of the next window). A new or
changed window clears it, and the next pass sets it from the window: one place decides
when a window ends. Each due resident is locked while decided (SKIP LOCKED on
PostgreSQL), and the deadline moves on in the same transaction: a check-in is decided
once per day whatever runs twice.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.engine.escalation import community_directory
from dispatcher.rules import checkins as rules
from dispatcher.rules.alarms import MISSED_CHECKIN, MISSED_CHECKIN_PRIORITY, Status
from dispatcher.rules.escalation import resolve_target
from dispatcher.rules.notifications import Purpose
from dispatcher.rules.policy import AlarmKind
from dispatcher.store import outbox
from dispatcher.store.alarms import open_alarm, opened_entry
from dispatcher.store.db import is_postgresql
from dispatcher.store.event_log import alarm_entry
from dispatcher.store.models import CHECKIN_UNSET_SQL, Alarm, DailyJob, Resident, Terminal
from dispatcher.views.checkins import ResidentToday, today

log = logging.getLogger("dispatcher.engine.checkins")

SUMMARY_JOB = "checkin_summary"
# an unreadable window (written past the city file's and the API's checks) is read again
# this much later, with its warning: not at every pass, and not in the way of the
# windows after it
UNREADABLE_RECHECK = timedelta(days=1)


@dataclass(slots=True)
class CheckinResult:
    opened: list[int] = field(default_factory=list)
    attached: list[int] = field(default_factory=list)  # missed again while still open
    started: int = 0  # new windows given their first deadline
    unreadable: int = 0  # windows put off to UNREADABLE_RECHECK
    # residents read by each of the two batches
    fresh_read: int = 0
    due_read: int = 0

    def more(self, limit: int) -> bool:
        """A batch was full: there may be more due now."""
        return self.due_read >= limit or self.fresh_read >= limit


def _window(resident: Resident) -> rules.Window | None:
    window = rules.readable_window(resident.checkin_window)
    if window is None and resident.checkin_window:
        # the city file and the API check windows; a bad one here must not stop the pass
        log.warning("resident %s has an unreadable check-in window", resident.id)
    return window


def _no_window(resident: Resident, *, now: datetime, result: CheckinResult) -> None:
    """No window to go by: none any more (no deadline either), or one that cannot be
    read (looked at again in UNREADABLE_RECHECK)."""
    if resident.checkin_window:
        resident.checkin_due_at = now + UNREADABLE_RECHECK
        result.unreadable += 1
    else:
        resident.checkin_due_at = None


def windows_without_deadline() -> Select[Resident]:
    """Residents whose window has no deadline yet (new or changed): the condition of
    their partial index, as text, so that the planner knows it for that index. In the
    index's order: without it PostgreSQL, counting residents without a deadline and
    residents with a window apart, expects a quarter of the city to match and reads
    the deadlines' index instead, 40,000 entries at 100,000 residents, to find none."""
    return select(Resident).where(text(CHECKIN_UNSET_SQL)).order_by(Resident.id)


async def run_checkins(
    *, session: AsyncSession, now: datetime, tz: ZoneInfo, limit: int, skip_locked: bool
) -> CheckinResult:
    """Set the deadline of new windows; decide for each resident whose window has
    ended: a missed check-in opens an alarm (kind checkin, type missed_checkin)."""
    result = CheckinResult()
    fresh = windows_without_deadline()
    due = (
        select(Resident)
        .where(Resident.checkin_due_at <= now)
        .order_by(Resident.checkin_due_at)
        .limit(limit)
    )
    if skip_locked:
        # NO KEY UPDATE: an alarm opened about a resident checks its key with KEY SHARE
        fresh = fresh.with_for_update(skip_locked=True, key_share=True)
        due = due.with_for_update(skip_locked=True, key_share=True)
    for resident in await session.scalars(fresh.limit(limit)):
        result.fresh_read += 1
        window = _window(resident)
        if window is None:
            _no_window(resident, now=now, result=result)
            continue
        resident.checkin_due_at = rules.next_end(window, tz, now)
        result.started += 1
    for resident in list(await session.scalars(due)):
        result.due_read += 1
        window = _window(resident)
        if window is None:
            _no_window(resident, now=now, result=result)
            continue
        decision = rules.decide(
            window,
            paused_until=resident.checkin_paused_until,
            last_press=resident.last_press_at,
            now=now,
            tz=tz,
        )
        resident.checkin_due_at = decision.next_due
        if decision.verdict is rules.Verdict.MISSED:
            await _missed(
                session, resident=resident, window=window, day=decision.day, now=now, result=result
            )
    return result


async def _missed(
    session: AsyncSession,
    *,
    resident: Resident,
    window: rules.Window,
    day: date,
    now: datetime,
    result: CheckinResult,
) -> None:
    detail = {
        "day": day.isoformat(),
        "window": str(window),
        "last_press": resident.last_press_at.isoformat() if resident.last_press_at else None,
    }
    alarm = await session.scalar(
        select(Alarm).where(
            Alarm.resident_id == resident.id,
            Alarm.type == MISSED_CHECKIN,
            Alarm.status != Status.RESOLVED.value,
        )
    )
    if alarm is not None:
        # not a second alarm for one resident: the open one says it again
        result.attached.append(alarm.id)
    else:
        device_id = await session.scalar(
            select(Terminal.device_id).where(Terminal.resident_id == resident.id)
        )
        alarm = open_alarm(
            kind=AlarmKind.CHECKIN,
            type_=MISSED_CHECKIN,
            priority=MISSED_CHECKIN_PRIORITY,
            device_id=device_id,
            resident_id=resident.id,
            community_id=resident.community_id,
            now=now,
        )
        session.add(alarm)
        await session.flush()
        session.add(opened_entry(alarm, alarm_id=alarm.id, actor="engine", now=now))
        result.opened.append(alarm.id)
    session.add(alarm_entry("checkin_missed", alarm, at=now, actor="engine", data=detail))


async def next_due(*, session: AsyncSession) -> datetime | None:
    """The earliest check-in deadline."""
    found: datetime | None = await session.scalar(select(func.min(Resident.checkin_due_at)))
    return found


# --- the morning list ------------------------------------------------------------------


def summary_due(
    summary_at: str | None, now: datetime, tz: ZoneInfo
) -> tuple[date, datetime] | None:
    """Today's local date and the instant of today's summary, once that has come."""
    if summary_at is None:
        return None
    local = now.astimezone(tz)
    at = datetime.combine(local.date(), time.fromisoformat(summary_at), tzinfo=tz)
    return (local.date(), at) if now >= at else None


async def _claim(session: AsyncSession, day: date, now: datetime) -> bool:
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    stmt = insert(DailyJob).values(job=SUMMARY_JOB, day=day, done_at=now).on_conflict_do_nothing()
    result: Any = await session.execute(stmt)
    return bool(result.rowcount)


async def send_summaries(
    *,
    session: AsyncSession,
    now: datetime,
    tz: ZoneInfo,
    summary_at: str | None,
    to: str,
) -> int:
    """Once a day, after `summary_at` (local): to the workers on shift (`to`:
    duty_workers or workers) of each community with check-in windows, the day's list.
    Returns the SMS queued."""
    due = summary_due(summary_at, now, tz)
    if due is None:
        return 0
    day, _ = due
    if not await _claim(session, day, now):
        return 0  # done today, here or by another engine
    by_community: dict[str, list[ResidentToday]] = defaultdict(list)
    for item in await today(session=session, now=now, tz=tz):
        by_community[item.resident.community_id].append(item)
    queued = 0
    for community_id, items in sorted(by_community.items()):
        counts = Counter(i.today.state for i in items)
        missed = [i.resident.name for i in items if i.today.state is rules.TodayState.MISSED]
        body = {
            "community": items[0].community,
            "date": day.isoformat(),
            "ok": counts[rules.TodayState.CHECKED_IN] + counts[rules.TodayState.LATE],
            "missed": missed,
            "paused": counts[rules.TodayState.PAUSED],
            "waiting": counts[rules.TodayState.WAITING] + counts[rules.TodayState.DUE],
        }
        directory = await community_directory(
            session=session, community_id=community_id, supervisors=()
        )
        people = resolve_target(to, directory, now, tz)
        rows = outbox.sms_rows(
            people,
            purpose=Purpose.CHECKIN_SUMMARY,
            subject=f"checkin:{community_id}:{day.isoformat()}",
            body=body,
            now=now,
        )
        if not rows:
            log.info("no worker to send the check-in list of %s to", community_id)
        queued += await outbox.add(session, rows)
    return queued


async def next_summary(
    *, session: AsyncSession, now: datetime, tz: ZoneInfo, summary_at: str | None
) -> datetime | None:
    """When the next morning list is due: today's if not sent yet, else tomorrow's."""
    if summary_at is None:
        return None
    local = now.astimezone(tz)
    wall = time.fromisoformat(summary_at)
    today_at = datetime.combine(local.date(), wall, tzinfo=tz)
    if now < today_at:
        return today_at
    done = await session.get(DailyJob, (SUMMARY_JOB, local.date()))
    if done is None:
        return today_at
    return datetime.combine(local.date() + timedelta(days=1), wall, tzinfo=tz)
