"""The daily check-in (docs/daily-care.md): a resident's window, whether the day's check-in
was missed, and when the next decision is due. Pure: the shell gives the window, the
pause, the last press that counts and `now`.

A window is two wall-clock times of the city's time zone, "07:00-10:00". One whose end
is before its start runs past midnight ("22:00-02:00") and belongs to the day it
starts. On the night the clocks change, a time the change skips is read with the
offset before it (02:30 becomes 03:30); a window the change swallows whole keeps its
nominal length, so that it never ends before it starts.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from devices.events import EventType

_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")

# presses that are not a person saying they are well (docs/daily-care.md)
_NOT_A_SIGN_OF_LIFE = frozenset(
    {EventType.LOW_BATTERY, EventType.POWER_LOST, EventType.POWER_RESTORED, EventType.TAMPER}
)


def counts_as_checkin(event_type: EventType) -> bool:
    """Any press of the resident's terminal counts, except what the terminal reports of
    itself (battery, power, tamper)."""
    return event_type not in _NOT_A_SIGN_OF_LIFE


@dataclass(frozen=True, slots=True)
class Window:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def minutes(self) -> int:
        """The nominal length, past midnight when the end is before the start."""
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        return (end - start) % (24 * 60)


@functools.lru_cache(maxsize=1024)  # a city has a few windows, read for every resident
def readable_window(text: str | None) -> Window | None:
    """A stored window, or None when there is none or it cannot be read (the city file
    and the API check windows; a bad one must not stop the engine's pass)."""
    if not text:
        return None
    try:
        return parse_window(text)
    except ValueError:
        return None


def parse_window(text: str) -> Window:
    """ "HH:MM-HH:MM" (24-hour, local); ValueError saying what is wrong."""
    found = _WINDOW.match(text.strip())
    if found is None:
        raise ValueError(f"bad check-in window {text!r}: use HH:MM-HH:MM, like 07:00-10:00")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    window = Window(time(h1, m1), time(h2, m2))
    if window.minutes == 0:
        raise ValueError(f"bad check-in window {text!r}: it starts when it ends")
    return window


def _at(day: date, wall: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


@functools.lru_cache(maxsize=4096)  # the same few windows, on the same days, for everyone
def bounds(window: Window, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The window of local `day` as UTC instants [start, end)."""
    start = _at(day, window.start, tz)
    end_day = day + timedelta(days=1) if window.end <= window.start else day
    end = _at(end_day, window.end, tz)
    if end <= start:  # swallowed by a change of the clocks
        end = start + timedelta(minutes=window.minutes)
    return start, end


def _days_around(now: datetime, tz: ZoneInfo) -> list[date]:
    today = now.astimezone(tz).date()
    return [today + timedelta(days=d) for d in (-2, -1, 0, 1, 2)]


def last_ended(window: Window, tz: ZoneInfo, now: datetime) -> date:
    """The local day whose window ended last, at or before `now`."""
    return max(d for d in _days_around(now, tz) if bounds(window, d, tz)[1] <= now)


def next_end(window: Window, tz: ZoneInfo, after: datetime) -> datetime:
    """The first end of a window strictly after `after`: when to decide next."""
    return min(e for d in _days_around(after, tz) if (e := bounds(window, d, tz)[1]) > after)


def paused_on(paused_until: date | None, day: date) -> bool:
    """Paused while `paused_until` is that day or later (hospital, travel)."""
    return paused_until is not None and paused_until >= day


class Verdict(StrEnum):
    CHECKED_IN = "checked_in"
    PAUSED = "paused"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the engine does when a resident's deadline has come: the day decided, the
    verdict, and when to decide next."""

    day: date
    verdict: Verdict
    next_due: datetime


def decide(
    window: Window,
    *,
    paused_until: date | None,
    last_press: datetime | None,
    now: datetime,
    tz: ZoneInfo,
) -> Decision:
    """For the last window that ended by `now` (only that one: an engine that was down
    for days raises no alarm for days long past). A press after the window's start
    counts, also one after its end that came before this decision: that resident is
    known to be well."""
    day = last_ended(window, tz, now)
    start, _ = bounds(window, day, tz)
    if paused_on(paused_until, day):
        verdict = Verdict.PAUSED
    elif last_press is not None and last_press >= start:
        verdict = Verdict.CHECKED_IN
    else:
        verdict = Verdict.MISSED
    return Decision(day, verdict, next_end(window, tz, now))


class TodayState(StrEnum):
    """How a resident's check-in stands today, as the workers' view shows it."""

    NO_WINDOW = "no_window"
    PAUSED = "paused"
    WAITING = "waiting"  # the window has not opened yet
    DUE = "due"  # the window is open and nobody pressed yet
    CHECKED_IN = "checked_in"
    LATE = "late"  # pressed, but after the window's end
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class Today:
    state: TodayState
    day: date | None = None
    start: datetime | None = None
    end: datetime | None = None


def today(
    window: Window | None,
    *,
    paused_until: date | None,
    last_press: datetime | None,
    now: datetime,
    tz: ZoneInfo,
) -> Today:
    """Today's check-in: today's window, or yesterday's while it is still open (one
    that runs past midnight)."""
    if window is None:
        return Today(TodayState.NO_WINDOW)
    local = now.astimezone(tz).date()
    day = local
    yesterday = local - timedelta(days=1)
    y_start, y_end = bounds(window, yesterday, tz)
    if y_start <= now < y_end:
        day = yesterday
    start, end = bounds(window, day, tz)
    if paused_on(paused_until, day):
        state = TodayState.PAUSED
    elif last_press is not None and start <= last_press < end:
        state = TodayState.CHECKED_IN
    elif last_press is not None and last_press >= end:
        state = TodayState.LATE
    elif now < start:
        state = TodayState.WAITING
    elif now < end:
        state = TodayState.DUE
    else:
        state = TodayState.MISSED
    return Today(state, day, start, end)
