"""The daily check-in rules: windows, the decision at a window's end (pressed, paused,
missed), windows past midnight, the nights the clocks change, and today's state."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.rules.checkins import (
    Today,
    TodayState,
    Verdict,
    Window,
    bounds,
    decide,
    last_ended,
    next_end,
    parse_window,
    paused_on,
    today,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")  # a zone with summer time, for the nights it changes
MORNING = parse_window("07:00-10:00")
NIGHT = parse_window("22:00-02:00")


def at(day: int, hh: int, mm: int = 0, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("07:00-10:00", Window(time(7), time(10))),
        (" 22:30-01:15 ", Window(time(22, 30), time(1, 15))),
        ("00:00-23:59", Window(time(0), time(23, 59))),
    ],
)
def test_windows_read(text: str, window: Window) -> None:
    assert parse_window(text) == window
    assert str(parse_window(str(window))) == str(window)


@pytest.mark.parametrize(
    "text", ["7:00-10:00", "07:00", "07:00-24:00", "10:00-10:00", "07:60-08:00", "", "早上"]
)
def test_bad_windows_are_refused_with_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="check-in window"):
        parse_window(text)


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    start, end = bounds(NIGHT, date(2026, 12, 1), SHANGHAI)
    assert (start, end) == (at(1, 22), at(2, 2))
    assert NIGHT.minutes == 240


def test_decided_at_the_window_end_missed_without_a_press() -> None:
    decision = decide(MORNING, paused_until=None, last_press=None, now=at(1, 10), tz=SHANGHAI)
    assert decision.day == date(2026, 12, 1)
    assert decision.verdict is Verdict.MISSED
    assert decision.next_due == at(2, 10)


@pytest.mark.parametrize(
    ("press", "verdict"),
    [
        (at(1, 6, 59), Verdict.MISSED),  # before the window: not today's check-in
        (at(1, 7), Verdict.CHECKED_IN),
        (at(1, 9, 59), Verdict.CHECKED_IN),
        (at(1, 10, 0), Verdict.CHECKED_IN),  # after the end, but before we decided: well
        (at(1, 8) - timedelta(days=1), Verdict.MISSED),  # yesterday's press
    ],
)
def test_a_press_since_the_window_opened_counts(press: datetime, verdict: Verdict) -> None:
    decision = decide(MORNING, paused_until=None, last_press=press, now=at(1, 10), tz=SHANGHAI)
    assert decision.verdict is verdict


def test_paused_until_today_or_later_raises_nothing() -> None:
    for until, verdict in (
        (date(2026, 12, 1), Verdict.PAUSED),
        (date(2026, 12, 9), Verdict.PAUSED),
        (date(2026, 11, 30), Verdict.MISSED),
    ):
        decision = decide(MORNING, paused_until=until, last_press=None, now=at(1, 10), tz=SHANGHAI)
        assert decision.verdict is verdict
    assert paused_on(date(2026, 12, 1), date(2026, 12, 1))
    assert not paused_on(None, date(2026, 12, 1))


def test_an_engine_that_was_down_decides_only_the_last_window() -> None:
    decision = decide(MORNING, paused_until=None, last_press=None, now=at(4, 15), tz=SHANGHAI)
    assert decision.day == date(2026, 12, 4)
    assert decision.next_due == at(5, 10)


def test_past_midnight_decided_the_next_morning() -> None:
    assert next_end(NIGHT, SHANGHAI, at(1, 23)) == at(2, 2)
    decision = decide(NIGHT, paused_until=None, last_press=at(1, 23, 30), now=at(2, 2), tz=SHANGHAI)
    assert (decision.day, decision.verdict) == (date(2026, 12, 1), Verdict.CHECKED_IN)
    assert decision.next_due == at(3, 2)
    # the pause of the day it started covers it, not that of the day it ends
    paused = decide(
        NIGHT, paused_until=date(2026, 12, 1), last_press=None, now=at(2, 2), tz=SHANGHAI
    )
    assert paused.verdict is Verdict.PAUSED


def test_the_night_the_clocks_go_forward() -> None:
    # Berlin, 2026-03-29: 02:00 becomes 03:00
    spring = date(2026, 3, 29)
    start, end = bounds(parse_window("01:30-03:30"), spring, BERLIN)
    assert end - start == timedelta(hours=1)  # an hour of it never happens
    # a window the change swallows keeps its nominal length
    start, end = bounds(parse_window("02:00-03:00"), spring, BERLIN)
    assert end - start == timedelta(hours=1)
    assert end > start


def test_the_night_the_clocks_go_back() -> None:
    # Berlin, 2026-10-25: 03:00 becomes 02:00 again
    autumn = date(2026, 10, 25)
    start, end = bounds(parse_window("01:30-03:30"), autumn, BERLIN)
    assert end - start == timedelta(hours=3)  # an hour of it happens twice


@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
        max_value=datetime(2027, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    st.sampled_from(["07:00-10:00", "22:00-02:00", "01:30-03:30", "02:00-03:00", "23:59-00:01"]),
    st.sampled_from([SHANGHAI, BERLIN]),
)
def test_one_decision_a_day_whatever_the_zone(now: datetime, text: str, tz: ZoneInfo) -> None:
    window = parse_window(text)
    due = next_end(window, tz, now)
    assert due > now
    assert due - now <= timedelta(days=1, hours=1)
    # at the deadline, the day decided is the one that just ended, and the next is later
    decision = decide(window, paused_until=None, last_press=None, now=due, tz=tz)
    assert bounds(window, decision.day, tz)[1] == due
    assert decision.next_due > due
    assert last_ended(window, tz, due) == decision.day
    start, end = bounds(window, decision.day, tz)
    assert start < end


@pytest.mark.parametrize(
    ("now", "press", "paused", "state"),
    [
        (at(1, 6), None, None, TodayState.WAITING),
        (at(1, 8), None, None, TodayState.DUE),
        (at(1, 8), at(1, 7, 30), None, TodayState.CHECKED_IN),
        (at(1, 11), None, None, TodayState.MISSED),
        (at(1, 11), at(1, 10, 30), None, TodayState.LATE),
        (at(1, 11), at(1, 6), None, TodayState.MISSED),
        (at(1, 11), None, date(2026, 12, 3), TodayState.PAUSED),
    ],
)
def test_today_as_the_workers_see_it(
    now: datetime, press: datetime | None, paused: date | None, state: TodayState
) -> None:
    found = today(MORNING, paused_until=paused, last_press=press, now=now, tz=SHANGHAI)
    assert found.state is state
    assert (found.start, found.end) == (at(1, 7), at(1, 10))


def test_today_of_a_window_past_midnight_is_yesterdays_while_it_is_open() -> None:
    found = today(NIGHT, paused_until=None, last_press=None, now=at(2, 1), tz=SHANGHAI)
    assert (found.day, found.state) == (date(2026, 12, 1), TodayState.DUE)
    found = today(NIGHT, paused_until=None, last_press=None, now=at(2, 3), tz=SHANGHAI)
    assert (found.day, found.state) == (date(2026, 12, 2), TodayState.WAITING)
    assert today(None, paused_until=None, last_press=None, now=at(2, 3), tz=SHANGHAI) == Today(
        TodayState.NO_WINDOW
    )
