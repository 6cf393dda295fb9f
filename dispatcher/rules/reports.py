"""The daily report of docs/daily-care.md: local days, the telecare targets, offline time merged
per terminal, and how each figure is rounded and written. Pure: the store counts, this
decides what the counts mean; the definitions are spelled out in the README.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

# the telecare standard: 97.5 % answered within 60 s, 99 % within 180 s; help at the
# door within 45 minutes for 90 %
ANSWER_TARGETS_S: Final = (60, 180)
ANSWER_TARGET_PCT: Final = {60: Decimal("97.5"), 180: Decimal(99)}
ATTEND_S: Final = 45 * 60
ATTEND_TARGET_PCT: Final = Decimal(90)
# who closes an emergency when the resident's cancel does (alarms.cancel_closes_emergency)
RESIDENT: Final = "resident"
MAX_API_DAYS: Final = 366

CSV_HEADER: Final = (
    "date",
    "community_id",
    "emergencies",
    "acked_within_60s_pct",
    "acked_within_180s_pct",
    "median_ack_s",
    "attended_within_45min_pct",
    "service_requests",
    "service_done",
    "checkins_missed",
    "terminals_offline",
    "offline_terminal_minutes",
)

_TENTH: Final = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class Day:
    """One local day as the half-open UTC span [start, end): 23 or 25 hours across DST."""

    date: date
    start: datetime
    end: datetime
    zone: str
    """The time zone's name (`Asia/Shanghai`), for a database that converts itself."""


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of a local date, in UTC. Where midnight falls in a DST gap,
    zoneinfo takes the offset before it: the instant that is the first of the day."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_days(first: date, last: date, tz: ZoneInfo) -> list[Day]:
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    days = []
    day = first
    while day <= last:
        following = day + timedelta(days=1)
        days.append(Day(day, day_start(day, tz), day_start(following, tz), tz.key))
        day = following
    return days


def local_date(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


@dataclass(frozen=True, slots=True)
class OfflineSpan:
    """A terminal offline from `start` until `end` (None: still offline), counted for
    `community_id`: an offline device alarm, or an outage member that went offline."""

    community_id: str
    device_id: str
    start: datetime
    end: datetime | None


def merged(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching spans joined, in order: no instant counted twice."""
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def offline_by_day(
    spans: Iterable[OfflineSpan], days: list[Day], now: datetime
) -> dict[tuple[date, str], tuple[int, float]]:
    """(day, community) -> (terminals offline some time that day, seconds offline that
    day). A span still open runs until `now`; the spans of one terminal are merged first,
    and each merged span visits only the days it overlaps."""
    by_terminal: dict[tuple[str, str], list[tuple[datetime, datetime]]] = defaultdict(list)
    for span in spans:
        end = now if span.end is None else min(span.end, now)
        by_terminal[span.community_id, span.device_id].append((span.start, end))
    starts = [day.start for day in days]
    terminals: dict[tuple[date, str], int] = defaultdict(int)
    seconds: dict[tuple[date, str], float] = defaultdict(float)
    for (community_id, _device), pieces in by_terminal.items():
        seen: set[date] = set()
        for start, end in merged(pieces):
            i = max(bisect_right(starts, start) - 1, 0)
            while i < len(days) and days[i].start < end:
                day = days[i]
                overlap = (min(end, day.end) - max(start, day.start)).total_seconds()
                if overlap > 0:
                    seconds[day.date, community_id] += overlap
                    if day.date not in seen:
                        seen.add(day.date)
                        terminals[day.date, community_id] += 1
                i += 1
    return {key: (terminals[key], seconds[key]) for key in terminals}


@dataclass(frozen=True, slots=True)
class AlarmCounts:
    """What the store counted for one community and day (see the README for each rule)."""

    emergencies: int = 0
    answered_60: int = 0
    counted_60: int = 0
    answered_180: int = 0
    counted_180: int = 0
    median_answer_s: float | None = None
    attended: int = 0
    counted_attended: int = 0
    service_requests: int = 0
    service_done: int = 0
    checkins_missed: int = 0


@dataclass(frozen=True, slots=True)
class DailyRow:
    date: date
    community_id: str
    emergencies: int
    acked_within_60s_pct: Decimal | None
    acked_within_180s_pct: Decimal | None
    median_ack_s: Decimal | None
    attended_within_45min_pct: Decimal | None
    service_requests: int
    service_done: int
    checkins_missed: int
    terminals_offline: int
    offline_terminal_minutes: Decimal


def one_decimal(value: Decimal | float) -> Decimal:
    """Half up, from the exact value (not Python's round, which rounds half to even)."""
    return Decimal(value).quantize(_TENTH, rounding=ROUND_HALF_UP)


def pct(part: int, whole: int) -> Decimal | None:
    """0-100 with one decimal; None (an empty cell) when there is nothing to count."""
    if whole == 0:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(_TENTH, rounding=ROUND_HALF_UP)


def daily_row(
    day: date, community_id: str, counts: AlarmCounts, offline: tuple[int, float]
) -> DailyRow:
    terminals, seconds = offline
    return DailyRow(
        date=day,
        community_id=community_id,
        emergencies=counts.emergencies,
        acked_within_60s_pct=pct(counts.answered_60, counts.counted_60),
        acked_within_180s_pct=pct(counts.answered_180, counts.counted_180),
        median_ack_s=(
            one_decimal(counts.median_answer_s) if counts.median_answer_s is not None else None
        ),
        attended_within_45min_pct=pct(counts.attended, counts.counted_attended),
        service_requests=counts.service_requests,
        service_done=counts.service_done,
        checkins_missed=counts.checkins_missed,
        terminals_offline=terminals,
        offline_terminal_minutes=one_decimal(Decimal(seconds) / 60),
    )


def build_rows(
    days: list[Day],
    communities: Iterable[str],
    counts: Mapping[tuple[date, str], AlarmCounts],
    offline: Mapping[tuple[date, str], tuple[int, float]],
) -> list[DailyRow]:
    """One row per community and day, those with nothing to count included."""
    ids = sorted(set(communities))
    empty = AlarmCounts()
    return [
        daily_row(day.date, c, counts.get((day.date, c), empty), offline.get((day.date, c), (0, 0)))
        for day in days
        for c in ids
    ]


@dataclass(frozen=True, slots=True)
class Targets:
    """The telecare targets in percent (`reports:` in config.yaml)."""

    answer_60: Decimal = ANSWER_TARGET_PCT[60]
    answer_180: Decimal = ANSWER_TARGET_PCT[180]
    attend_45: Decimal = ATTEND_TARGET_PCT


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """A community's (or the city's, `community_id` None) figures over a whole period:
    the shares are of the period's counts, not an average of the days' shares."""

    community_id: str | None
    emergencies: int
    acked_within_60s_pct: Decimal | None
    acked_within_180s_pct: Decimal | None
    attended_within_45min_pct: Decimal | None
    shortfall: Decimal
    """The points below target, added over the three figures (0: every target met)."""


def _period(
    community_id: str | None, counts: Iterable[AlarmCounts], targets: Targets
) -> PeriodFigures:
    total = AlarmCounts()
    for c in counts:
        total = AlarmCounts(
            emergencies=total.emergencies + c.emergencies,
            answered_60=total.answered_60 + c.answered_60,
            counted_60=total.counted_60 + c.counted_60,
            answered_180=total.answered_180 + c.answered_180,
            counted_180=total.counted_180 + c.counted_180,
            attended=total.attended + c.attended,
            counted_attended=total.counted_attended + c.counted_attended,
        )
    shares = (
        (pct(total.answered_60, total.counted_60), targets.answer_60),
        (pct(total.answered_180, total.counted_180), targets.answer_180),
        (pct(total.attended, total.counted_attended), targets.attend_45),
    )
    shortfall = sum((max(Decimal(0), t - v) for v, t in shares if v is not None), Decimal(0))
    return PeriodFigures(
        community_id,
        total.emergencies,
        shares[0][0],
        shares[1][0],
        shares[2][0],
        shortfall,
    )


def period_figures(
    communities: Iterable[str],
    counts: Mapping[tuple[date, str], AlarmCounts],
    targets: Targets,
) -> tuple[PeriodFigures, list[PeriodFigures]]:
    """The city's figures over the period, then each community's, worst first (most
    points below target; then most emergencies; then by id)."""
    by_community: dict[str, list[AlarmCounts]] = {c: [] for c in communities}
    for (_, community_id), c in counts.items():
        by_community.setdefault(community_id, []).append(c)
    city = _period(None, counts.values(), targets)
    rows = [_period(c, found, targets) for c, found in by_community.items()]
    rows.sort(key=lambda r: (-r.shortfall, -r.emergencies, r.community_id or ""))
    return city, rows


def period_json(row: PeriodFigures) -> dict[str, Any]:
    def number(value: Decimal | None) -> float | None:
        return float(value) if value is not None else None

    return {
        "community_id": row.community_id,
        "emergencies": row.emergencies,
        "acked_within_60s_pct": number(row.acked_within_60s_pct),
        "acked_within_180s_pct": number(row.acked_within_180s_pct),
        "attended_within_45min_pct": number(row.attended_within_45min_pct),
        "shortfall": float(row.shortfall),
    }


def _cell(value: object) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def csv_values(row: DailyRow) -> list[str]:
    return [_cell(getattr(row, name)) for name in CSV_HEADER]


def json_values(row: DailyRow) -> dict[str, Any]:
    """Numbers as JSON numbers, empty cells as null, the date as YYYY-MM-DD."""
    out: dict[str, Any] = {}
    for name in CSV_HEADER:
        value = getattr(row, name)
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[name] = value
    return out
