"""Duty shifts: parsing the city file's notation, and who is on shift at an instant."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.rules.roster import Shift, on_shift, parse_days, parse_shift, parse_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2025, 6, 2, tzinfo=SHANGHAI)  # a Monday, local midnight
WEEK_MINUTES = 7 * 24 * 60
DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def at(day: str, hhmm: str) -> datetime:
    """Local wall time in Shanghai, in the week of MONDAY."""
    hours, minutes = map(int, hhmm.split(":"))
    return MONDAY + timedelta(days=DAYS[day], hours=hours, minutes=minutes)


def covers_minute(shift: Shift, minute: int) -> bool:
    """A second way to say what a shift covers: a span of minutes of the week from each
    day's start, `(end - start) mod 24 h` long (a whole day when they are equal)."""
    start = shift.start.hour * 60 + shift.start.minute
    end = shift.end.hour * 60 + shift.end.minute
    length = (end - start) % 1440 or 1440
    return any((minute - day * 1440 - start) % WEEK_MINUTES < length for day in shift.days)


def test_monday_is_monday() -> None:
    assert MONDAY.weekday() == 0


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("mon-sun", {0, 1, 2, 3, 4, 5, 6}),
        ("daily", {0, 1, 2, 3, 4, 5, 6}),
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sat,sun", {5, 6}),
        ("mon,wed-fri", {0, 2, 3, 4}),
        ("fri-mon", {4, 5, 6, 0}),
        ("sun-mon", {6, 0}),
        ("wed", {2}),
        ("wed-wed", {2}),
        (" Mon - Fri , SUN ", {0, 1, 2, 3, 4, 6}),
        ("mon,mon-tue", {0, 1}),
    ],
)
def test_days(spec: str, days: set[int]) -> None:
    assert parse_days(spec) == frozenset(days)


@pytest.mark.parametrize(
    "spec", ["", "funday", "mon-", "-fri", "mon,,tue", "mon-tue-wed", "monday", "1-5", "weekdays"]
)
def test_bad_days_are_named_in_the_error(spec: str) -> None:
    with pytest.raises(ValueError, match="bad day") as raised:
        parse_days(spec)
    assert repr(spec) in str(raised.value)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("00:00", False, time(0, 0)),
        ("08:00", False, time(8, 0)),
        ("23:59", False, time(23, 59)),
        ("20:30", True, time(20, 30)),
        ("24:00", True, time(0, 0)),
        (" 07:15 ", False, time(7, 15)),
    ],
)
def test_times(text: str, end: bool, expected: time) -> None:
    assert parse_time(text, end=end) == expected


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("24:00", False),
        ("24:01", True),
        ("25:00", True),
        ("12:60", False),
        ("7:00", False),
        ("0800", False),
        ("08:00:00", False),
        ("", False),
        ("noon", True),
    ],
)
def test_bad_times(text: str, end: bool) -> None:
    with pytest.raises(ValueError, match="use HH:MM"):
        parse_time(text, end=end)


def test_parse_shift() -> None:
    assert parse_shift("mon-fri", "08:00", "20:00") == Shift(
        frozenset({0, 1, 2, 3, 4}), time(8), time(20)
    )
    assert parse_shift("daily", "20:00", "08:00").overnight
    assert not parse_shift("daily", "08:00", "20:00").overnight
    with pytest.raises(ValueError, match="'8:00'"):
        parse_shift("daily", "8:00", "20:00")
    with pytest.raises(ValueError, match="'xx'"):
        parse_shift("mon,xx", "08:00", "20:00")


@pytest.mark.parametrize("days", [frozenset(), frozenset({7}), frozenset({-1, 0})])
def test_shift_days_must_be_weekdays(days: frozenset[int]) -> None:
    with pytest.raises(ValueError, match="non-empty subset"):
        Shift(days, time(8), time(20))


def test_shift_times_are_wall_times() -> None:
    with pytest.raises(ValueError, match="wall"):
        Shift(frozenset({0}), time(8, tzinfo=UTC), time(20))


def test_on_shift_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="aware"):
        on_shift([parse_shift("daily", "00:00", "24:00")], datetime(2025, 6, 2), SHANGHAI)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("day", "hhmm", "expected"),
    [
        ("mon", "07:59", False),
        ("mon", "08:00", True),
        ("mon", "19:59", True),
        ("mon", "20:00", False),
        ("fri", "12:00", True),
        ("sat", "12:00", False),
        ("sun", "08:00", False),
    ],
)
def test_day_shift(day: str, hhmm: str, expected: bool) -> None:
    shifts = [parse_shift("mon-fri", "08:00", "20:00")]
    assert on_shift(shifts, at(day, hhmm), SHANGHAI) is expected


@pytest.mark.parametrize(
    ("day", "hhmm", "expected"),
    [
        # the Monday night shift: Monday 20:00 to Tuesday 08:00
        ("mon", "00:00", False),  # that would be Sunday's night
        ("mon", "07:59", False),
        ("mon", "08:00", False),
        ("mon", "19:59", False),
        ("mon", "20:00", True),
        ("mon", "23:59", True),
        ("tue", "00:00", True),
        ("tue", "07:59", True),
        ("tue", "08:00", False),
        ("tue", "20:00", False),  # no Tuesday night shift
        ("wed", "00:00", False),
        ("sun", "23:59", False),
    ],
)
def test_overnight_shift_belongs_to_the_day_it_starts(day: str, hhmm: str, expected: bool) -> None:
    shifts = [parse_shift("mon", "20:00", "08:00")]
    assert on_shift(shifts, at(day, hhmm), SHANGHAI) is expected


@pytest.mark.parametrize(
    ("day", "hhmm", "expected"),
    [
        ("sun", "21:59", False),
        ("sun", "22:00", True),
        ("mon", "05:59", True),
        ("mon", "06:00", False),
    ],
)
def test_sunday_night_shift_wraps_into_monday(day: str, hhmm: str, expected: bool) -> None:
    shifts = [parse_shift("sun", "22:00", "06:00")]
    assert on_shift(shifts, at(day, hhmm), SHANGHAI) is expected


def test_end_at_midnight_and_24_hour_shifts() -> None:
    until_midnight = [parse_shift("mon", "08:00", "24:00")]
    assert on_shift(until_midnight, at("mon", "23:59"), SHANGHAI)
    assert not on_shift(until_midnight, at("tue", "00:00"), SHANGHAI)
    full_day = [parse_shift("mon", "08:00", "08:00")]
    assert not on_shift(full_day, at("mon", "07:59"), SHANGHAI)
    assert on_shift(full_day, at("mon", "08:00"), SHANGHAI)
    assert on_shift(full_day, at("tue", "07:59"), SHANGHAI)
    assert not on_shift(full_day, at("tue", "08:00"), SHANGHAI)
    always = [parse_shift("daily", "00:00", "24:00")]
    assert all(on_shift(always, at(day, "00:00"), SHANGHAI) for day in DAYS)


def test_no_shifts_means_off_duty() -> None:
    assert not on_shift([], at("mon", "12:00"), SHANGHAI)


def test_the_instant_is_read_in_the_city_zone() -> None:
    # Monday 19:30 UTC is Tuesday 03:30 in Shanghai: the Monday night shift
    utc = datetime(2025, 6, 2, 19, 30, tzinfo=UTC)
    assert on_shift([parse_shift("mon", "20:00", "08:00")], utc, SHANGHAI)
    assert not on_shift([parse_shift("mon", "08:00", "20:00")], utc, SHANGHAI)


@pytest.mark.parametrize(
    "specs",
    [
        [("mon-fri", "08:00", "20:00")],
        [("daily", "20:00", "08:00")],
        [("mon,wed-fri", "22:30", "06:15"), ("sat,sun", "09:00", "17:00")],
        [("fri-mon", "18:00", "18:00")],
        [("sun", "12:00", "24:00"), ("tue", "00:00", "00:01")],
    ],
)
def test_week_sweep_minute_by_minute(specs: list[tuple[str, str, str]]) -> None:
    shifts = [parse_shift(*spec) for spec in specs]
    for minute in range(WEEK_MINUTES):
        instant = (MONDAY + timedelta(minutes=minute)).astimezone(UTC)
        expected = any(covers_minute(s, minute) for s in shifts)
        assert on_shift(shifts, instant, SHANGHAI) is expected, minute


_minutes = st.builds(time, st.integers(0, 23), st.integers(0, 59))
_shifts = st.builds(Shift, st.frozensets(st.integers(0, 6), min_size=1), _minutes, _minutes)


@settings(max_examples=300)
@given(shift=_shifts, minute=st.integers(0, WEEK_MINUTES - 1))
def test_any_shift_covers_exactly_its_minutes(shift: Shift, minute: int) -> None:
    instant = MONDAY + timedelta(minutes=minute)
    assert on_shift([shift], instant, SHANGHAI) is covers_minute(shift, minute)


# Berlin, 2025: clocks go 02:00 -> 03:00 on Sunday 30 March, 03:00 -> 02:00 on Sunday
# 26 October. Shifts follow the wall clock.
def berlin_utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def test_dst_spring_forward_night_shift_is_an_hour_shorter() -> None:
    night = [parse_shift("sat", "20:00", "08:00")]
    assert not on_shift(night, berlin_utc(3, 29, 18, 59), BERLIN)  # 19:59 CET
    assert on_shift(night, berlin_utc(3, 29, 19), BERLIN)  # 20:00 CET
    assert on_shift(night, berlin_utc(3, 30, 0, 59), BERLIN)  # 01:59 CET
    assert on_shift(night, berlin_utc(3, 30, 1), BERLIN)  # 03:00 CEST
    assert on_shift(night, berlin_utc(3, 30, 5, 59), BERLIN)  # 07:59 CEST
    assert not on_shift(night, berlin_utc(3, 30, 6), BERLIN)  # 08:00 CEST
    day = [parse_shift("sun", "08:00", "20:00")]
    assert on_shift(day, berlin_utc(3, 30, 6), BERLIN)
    assert not on_shift(day, berlin_utc(3, 30, 18), BERLIN)  # 20:00 CEST


def test_dst_spring_forward_skipped_hour() -> None:
    # 02:00-02:59 does not exist that night: a shift ending 02:30 ends at the jump
    early = [parse_shift("sun", "01:00", "02:30")]
    assert on_shift(early, berlin_utc(3, 30, 0, 59), BERLIN)  # 01:59 CET
    assert not on_shift(early, berlin_utc(3, 30, 1), BERLIN)  # 03:00 CEST


def test_dst_fall_back_repeated_hour_is_covered_twice() -> None:
    repeated = [parse_shift("sun", "02:00", "03:00")]
    assert on_shift(repeated, berlin_utc(10, 26, 0, 30), BERLIN)  # 02:30 CEST
    assert on_shift(repeated, berlin_utc(10, 26, 1, 30), BERLIN)  # 02:30 CET
    assert not on_shift(repeated, berlin_utc(10, 26, 2), BERLIN)  # 03:00 CET
    night = [parse_shift("sat", "20:00", "08:00")]
    assert on_shift(night, berlin_utc(10, 26, 6, 59), BERLIN)  # 07:59 CET
    assert not on_shift(night, berlin_utc(10, 26, 7), BERLIN)  # 08:00 CET
