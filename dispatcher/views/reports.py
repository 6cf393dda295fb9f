"""The daily report's counts, in SQL over `alarms` and `outage_members`, grouped by
community and local day; `dispatcher.rules.reports` turns them into the rows.

A local day is the half-open UTC span of `rules.reports.local_days` (23 or 25 hours
across DST). PostgreSQL finds an alarm's local date itself (its time zone database);
SQLite, which has no time zones, joins each alarm to a VALUES table of those spans.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    case,
    column,
    func,
    join,
    literal,
    or_,
    select,
    union,
    union_all,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from dispatcher.rules import reports as rules
from dispatcher.rules.alarms import Outcome
from dispatcher.rules.policy import AlarmKind
from dispatcher.store.db import is_postgresql
from dispatcher.store.models import Alarm, Community, OutageMember
from dispatcher.store.types import UTCDateTime

MISSED_CHECKIN = "missed_checkin"
OFFLINE = "offline"


class seconds_between(FunctionElement[float]):  # noqa: N801 (an SQL function's name)
    """`later - earlier` in seconds: exact on PostgreSQL, to the millisecond on SQLite
    (julianday reads three decimals of a second)."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - "
        f"{compiler.process(earlier, **kw)}))::float8"
    )


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"ROUND((julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)})) * 86400.0, 3)"
    )


def _days_table(days: list[rules.Day]) -> Any:
    return (
        values(
            column("day", String),
            column("day_start", UTCDateTime),
            column("day_end", UTCDateTime),
            name="days",
        )
        .data([(d.date.isoformat(), d.start, d.end) for d in days])
        .cte("days")
    )


def _local_day(session: AsyncSession, days: list[rules.Day]) -> tuple[Any, Any]:
    """The local date of `alarms.created_at` as YYYY-MM-DD, and what to select from.
    PostgreSQL converts with its own time zone database, in one pass over the alarms;
    SQLite has no time zones, so there each alarm is joined to its day's UTC span (a
    range join, fine at the size of a city that runs on SQLite)."""
    if is_postgresql(session):
        zone = days[0].zone
        return func.to_char(func.timezone(zone, Alarm.created_at), "YYYY-MM-DD"), Alarm
    d = _days_table(days)
    joined = join(Alarm, d, and_(Alarm.created_at >= d.c.day_start, Alarm.created_at < d.c.day_end))
    return d.c.day, joined


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


async def alarm_counts(
    *,
    session: AsyncSession,
    days: list[rules.Day],
    community: str | None,
    now: datetime,
) -> dict[tuple[date, str], rules.AlarmCounts]:
    """Per (day, community): the emergencies and how fast they were answered and
    attended, service requests, missed check-ins (the README's definitions, "The proof
    of the promise")."""
    emergency = Alarm.kind == AlarmKind.EMERGENCY.value
    at_now = literal(now, UTCDateTime)
    age_s = seconds_between(at_now, Alarm.created_at)
    # answered: the first acknowledgement; else a person's close; the resident's own
    # cancel is left out, and one still unanswered counts as late once past the target
    answer_s = case(
        (
            Alarm.acknowledged_at.is_not(None),
            seconds_between(Alarm.acknowledged_at, Alarm.created_at),
        ),
        (
            and_(Alarm.resolved_at.is_not(None), Alarm.resolved_by != rules.RESIDENT),
            seconds_between(Alarm.resolved_at, Alarm.created_at),
        ),
        else_=None,
    )
    unanswered = and_(Alarm.acknowledged_at.is_(None), Alarm.resolved_at.is_(None))
    arrival_s = seconds_between(Alarm.arrived_at, Alarm.created_at)
    open_for_s = case(
        (Alarm.resolved_at.is_(None), age_s),
        else_=seconds_between(Alarm.resolved_at, Alarm.created_at),
    )
    # someone reached the door, or help was needed and the alarm stayed open past 45 min
    needed_help = or_(
        Alarm.arrived_at.is_not(None),
        and_(
            func.coalesce(Alarm.outcome, "") != Outcome.FALSE_ALARM.value,
            open_for_s > rules.ATTEND_S,
        ),
    )
    day, per_alarm_from = _local_day(session, days)
    per_alarm = (
        select(
            day.label("day"),
            Alarm.community_id.label("community_id"),
            Alarm.kind.label("kind"),
            Alarm.type.label("type"),
            Alarm.outcome.label("outcome"),
            answer_s.label("answer_s"),
            case((and_(emergency, unanswered), age_s), else_=None).label("waiting_s"),
            case((and_(emergency, Alarm.arrived_at.is_not(None)), arrival_s)).label("arrival_s"),
            case((and_(emergency, needed_help), 1), else_=0).label("needed_help"),
        )
        .select_from(per_alarm_from)
        .where(
            Alarm.community_id.is_not(None),
            Alarm.created_at >= days[0].start,
            Alarm.created_at < days[-1].end,
        )
    )
    if community is not None:
        per_alarm = per_alarm.where(Alarm.community_id == community)
    a = per_alarm.subquery("a")
    is_emergency = a.c.kind == AlarmKind.EMERGENCY.value
    columns: list[Any] = [a.c.day, a.c.community_id, _count(is_emergency)]
    for target in rules.ANSWER_TARGETS_S:
        columns.append(_count(and_(is_emergency, a.c.answer_s <= target)))
        columns.append(
            _count(and_(is_emergency, or_(a.c.answer_s.is_not(None), a.c.waiting_s > target)))
        )
    columns += [
        _count(and_(a.c.needed_help == 1, a.c.arrival_s <= rules.ATTEND_S)),
        _count(a.c.needed_help == 1),
        _count(a.c.kind == AlarmKind.SERVICE.value),
        _count(
            and_(a.c.kind == AlarmKind.SERVICE.value, a.c.outcome == Outcome.SERVICE_DONE.value)
        ),
        _count(and_(a.c.kind == AlarmKind.CHECKIN.value, a.c.type == MISSED_CHECKIN)),
    ]
    totals = await session.execute(select(*columns).group_by(a.c.day, a.c.community_id))

    # the median answer time: the middle one, or the mean of the middle two
    answered = (
        select(a.c.day, a.c.community_id, a.c.answer_s)
        .where(is_emergency, a.c.answer_s.is_not(None))
        .subquery("answered")
    )
    group = (answered.c.day, answered.c.community_id)
    ranked = select(
        *group,
        answered.c.answer_s,
        func.row_number().over(partition_by=group, order_by=answered.c.answer_s).label("rn"),
        func.count().over(partition_by=group).label("n"),
    ).subquery("ranked")
    middle = (
        select(ranked.c.day, ranked.c.community_id, func.avg(ranked.c.answer_s))
        .where(ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2]))
        .group_by(ranked.c.day, ranked.c.community_id)
    )
    medians = {
        (day, community_id): float(median)
        for day, community_id, median in await session.execute(middle)
    }

    found: dict[tuple[date, str], rules.AlarmCounts] = {}
    for row in totals:
        day, community_id, *n = row
        key = (date.fromisoformat(day), community_id)
        found[key] = rules.AlarmCounts(
            emergencies=int(n[0] or 0),
            answered_60=int(n[1] or 0),
            counted_60=int(n[2] or 0),
            answered_180=int(n[3] or 0),
            counted_180=int(n[4] or 0),
            median_answer_s=medians.get((day, community_id)),
            attended=int(n[5] or 0),
            counted_attended=int(n[6] or 0),
            service_requests=int(n[7] or 0),
            service_done=int(n[8] or 0),
            checkins_missed=int(n[9] or 0),
        )
    return found


async def offline_spans(
    *, session: AsyncSession, start: datetime, end: datetime, community: str | None
) -> list[rules.OfflineSpan]:
    """Every span a terminal was offline that overlaps [start, end): offline device
    alarms (went down -> resolved) and outage members gone offline (joined -> left)."""
    # an alarm raised after the terminal went down counts from when it went down
    began = func.coalesce(Alarm.since, Alarm.created_at)
    alarms = select(
        Alarm.community_id.label("community_id"),
        Alarm.device_id.label("device_id"),
        began.label("start"),
        Alarm.resolved_at.label("end"),
    ).where(
        Alarm.kind == AlarmKind.DEVICE.value,
        Alarm.type == OFFLINE,
        Alarm.device_id.is_not(None),
        Alarm.community_id.is_not(None),
        began < end,
        or_(Alarm.resolved_at.is_(None), Alarm.resolved_at > start),
    )
    members = (
        select(
            Alarm.community_id,
            OutageMember.device_id,
            OutageMember.joined_at,
            OutageMember.left_at,
        )
        .join(Alarm, Alarm.id == OutageMember.alarm_id)
        .where(
            OutageMember.reason == OFFLINE,
            Alarm.community_id.is_not(None),
            OutageMember.joined_at < end,
            or_(OutageMember.left_at.is_(None), OutageMember.left_at > start),
        )
    )
    if community is not None:
        alarms = alarms.where(Alarm.community_id == community)
        members = members.where(Alarm.community_id == community)
    both = union_all(alarms, members).subquery("spans")
    rows = await session.execute(select(both))
    return [
        rules.OfflineSpan(community_id=c, device_id=dev, start=s, end=e) for c, dev, s, e in rows
    ]


async def community_ids(*, session: AsyncSession, community: str | None) -> list[str]:
    """The communities a report has rows for: those of the city, and any an alarm names."""
    known = select(Community.id)
    named = select(Alarm.community_id).where(Alarm.community_id.is_not(None)).distinct()
    if community is not None:
        known = known.where(Community.id == community)
        named = named.where(Alarm.community_id == community)
    return sorted(set(await session.scalars(union(known, named))))


async def daily_report(
    *,
    session: AsyncSession,
    first: date,
    last: date,
    tz: ZoneInfo,
    now: datetime,
    community: str | None = None,
) -> list[rules.DailyRow]:
    """One row per community and local day from `first` to `last` (both included)."""
    days = rules.local_days(first, last, tz)
    counts = await alarm_counts(session=session, days=days, community=community, now=now)
    spans = await offline_spans(
        session=session, start=days[0].start, end=days[-1].end, community=community
    )
    offline = rules.offline_by_day(spans, days, now)
    ids = await community_ids(session=session, community=community)
    return rules.build_rows(days, ids, counts, offline)


async def period_report(
    *,
    session: AsyncSession,
    first: date,
    last: date,
    tz: ZoneInfo,
    now: datetime,
    targets: rules.Targets,
    community: str | None = None,
) -> tuple[rules.PeriodFigures, list[rules.PeriodFigures]]:
    """The city's figures from `first` to `last` against the targets, then each
    community's, worst first."""
    days = rules.local_days(first, last, tz)
    counts = await alarm_counts(session=session, days=days, community=community, now=now)
    ids = await community_ids(session=session, community=community)
    return rules.period_figures(ids, counts, targets)
