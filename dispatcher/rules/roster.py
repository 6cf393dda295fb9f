"""Community workers' duty shifts, in the city's time zone. Pure: `now` is an argument.

Shifts are read in local wall time, so an 08:00 shift starts at 08:00 on the clock on
the wall whatever daylight saving does, and a night shift on the night the clocks
change is an hour shorter or longer, as it is for the worker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_INDEX = {name: i for i, name in enumerate(DAY_NAMES)}
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


@dataclass(frozen=True, slots=True)
class Shift:
    """A weekly duty shift. `days` (0 is Monday) are the days it STARTS on.

    `end <= start` runs past midnight into the next day; `start == end` is 24 hours.
    """

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError(f"shift days must be a non-empty subset of 0..6, not {self.days}")
        # an aware time cannot be compared with the wall clock
        if self.start.tzinfo or self.end.tzinfo:
            raise ValueError("shift times are local wall times, without a time zone")

    @property
    def overnight(self) -> bool:
        """Ends on the day after it starts (24-hour shifts included)."""
        return self.end <= self.start

    def covers(self, weekday: int, wall: time) -> bool:
        """Whether this shift covers local `wall` time on local `weekday`."""
        if not self.overnight:
            return weekday in self.days and self.start <= wall < self.end
        # the evening part belongs to today's shift, the morning part to yesterday's
        started_today = weekday in self.days and wall >= self.start
        started_yesterday = (weekday - 1) % 7 in self.days and wall < self.end
        return started_today or started_yesterday


def parse_days(spec: str) -> frozenset[int]:
    """`mon-fri`, `sat,sun`, `mon,wed-fri`, `fri-mon` (wraps), `daily` -> weekday indexes."""
    days: set[int] = set()
    for raw in spec.lower().split(","):
        part = raw.strip()
        if part == "daily":
            days.update(range(7))
            continue
        first, sep, last = (p.strip() for p in part.partition("-"))
        lo = _day(first, spec)
        hi = _day(last, spec) if sep else lo
        # a range may wrap past Sunday: fri-mon is fri, sat, sun, mon
        days.update((lo + i) % 7 for i in range((hi - lo) % 7 + 1))
    return frozenset(days)


def _day(name: str, spec: str) -> int:
    try:
        return _DAY_INDEX[name]
    except KeyError:
        raise ValueError(
            f"bad day {name!r} in days {spec!r}: use mon..sun, ranges like mon-fri, "
            "lists like sat,sun, or daily"
        ) from None


def parse_time(value: str, *, end: bool = False) -> time:
    """`HH:MM` from 00:00 to 23:59; an end may also be `24:00`, the next midnight."""
    text = value.strip()
    if end and text == "24:00":
        # the end of an overnight shift that stops exactly at midnight
        return time(0, 0)
    match = _TIME.match(text)
    if match is None:
        allowed = "00:00 to 24:00" if end else "00:00 to 23:59"
        raise ValueError(f"bad time {value!r}: use HH:MM from {allowed}")
    return time(int(match[1]), int(match[2]))


def parse_shift(days: str, start: str, end: str) -> Shift:
    """A shift from the city data file (`{days: mon-sun, start: "08:00", end: "20:00"}`)."""
    return Shift(
        days=parse_days(days),
        start=parse_time(start),
        end=parse_time(end, end=True),
    )


def on_shift(shifts: Iterable[Shift], now: datetime, tz: ZoneInfo) -> bool:
    """Whether any of `shifts` covers the instant `now` (aware), read on the wall in `tz`."""
    if now.tzinfo is None:
        raise ValueError("on_shift needs an aware datetime")
    local = now.astimezone(tz)
    weekday, wall = local.weekday(), local.time()
    return any(shift.covers(weekday, wall) for shift in shifts)
