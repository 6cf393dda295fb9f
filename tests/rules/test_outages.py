"""Grouping terminals that go down together: one outage instead of a row each; a
terminal alone waits the window, then raises its own alarm; members leave when back and
the outage closes when all have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dispatcher.rules.outages import (
    CloseOutage,
    Decision,
    Down,
    Join,
    Leave,
    Member,
    OpenOutage,
    OwnAlarm,
    Reason,
    StartOutage,
    decide,
)

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
WINDOW = 120
OFF, POWER = Reason.OFFLINE, Reason.POWER_LOST


def down(n: int, *, at_s: float = 0, reason: Reason = POWER) -> Down:
    return Down(f"T-{n:04d}", reason, T0 + timedelta(seconds=at_s))


def run(
    downs: list[Down], outage: OpenOutage | None = None, *, now_s: float, least: int = 20
) -> Decision:
    return decide(
        downs, outage, now=T0 + timedelta(seconds=now_s), min_terminals=least, window_s=WINDOW
    )


def test_one_terminal_down_waits_the_window_then_raises_its_own() -> None:
    one = [down(1)]
    waiting = run(one, now_s=119)
    assert waiting.effects == ()
    assert waiting.next_due == T0 + timedelta(seconds=WINDOW)
    assert run(one, now_s=120).effects == (OwnAlarm(one[0]),)


def test_forty_losing_power_within_a_minute_make_one_outage() -> None:
    forty = [down(i, at_s=i * 1.5) for i in range(40)]
    # the 20th went down at 28.5 s: from then on it is an outage of all who are down
    assert run(forty[:19], now_s=28.5).effects == ()
    decision = run(forty[:20], now_s=28.5)
    assert decision.effects == (StartOutage(tuple(forty[:20])),)
    outage = OpenOutage(7, tuple(Member(d.device_id, back=False) for d in forty[:20]))
    later = run(forty[20:], outage, now_s=60)
    assert later.effects == tuple(Join(7, d) for d in forty[20:])


def test_terminals_down_longer_than_the_window_are_not_grouped() -> None:
    old = [down(i, at_s=0) for i in range(5)]
    fresh = [down(i, at_s=200) for i in range(5, 25)]
    decision = run(old + fresh, now_s=210)
    assert decision.effects[0] == StartOutage(tuple(fresh))
    assert decision.effects[1:] == tuple(OwnAlarm(d) for d in old)


def test_a_terminal_both_offline_and_without_power_counts_once() -> None:
    both = [down(i, reason=POWER) for i in range(19)] + [
        down(i, at_s=5, reason=OFF) for i in range(19)
    ]
    assert run(both, now_s=10).effects == ()
    [start] = run([*both, down(99, at_s=9)], now_s=10).effects
    assert isinstance(start, StartOutage)
    assert len(start.members) == 20
    assert {m.reason for m in start.members} == {POWER}


def test_members_leave_when_back_and_the_outage_closes_when_all_are() -> None:
    outage = OpenOutage(7, (Member("T-0001", back=True), Member("T-0002", back=False)))
    assert run([], outage, now_s=600).effects == (Leave(7, "T-0001"),)
    last = OpenOutage(7, (Member("T-0002", back=True),))
    assert run([], last, now_s=900).effects == (Leave(7, "T-0002"), CloseOutage(7))


def test_one_going_down_as_the_last_comes_back_keeps_it_open() -> None:
    last = OpenOutage(7, (Member("T-0002", back=True),))
    newcomer = down(3, at_s=899)
    assert run([newcomer], last, now_s=900).effects == (Leave(7, "T-0002"), Join(7, newcomer))


@given(
    st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), min_size=0, max_size=60),
    st.floats(min_value=0, max_value=900, allow_nan=False),
)
def test_every_terminal_down_is_grouped_alarmed_or_waiting(
    times: list[float], now_s: float
) -> None:
    downs = [down(i, at_s=t) for i, t in enumerate(times) if t <= now_s]
    decision = run(downs, now_s=now_s)
    started = [e for e in decision.effects if isinstance(e, StartOutage)]
    own = {e.down.device_id for e in decision.effects if isinstance(e, OwnAlarm)}
    grouped = {m.device_id for s in started for m in s.members}
    assert len(started) <= 1
    assert not own & grouped
    waiting = {d.device_id for d in downs} - own - grouped
    # each one still waiting is inside its window, and the next look is due by then
    for d in downs:
        if d.device_id in waiting:
            assert d.since + timedelta(seconds=WINDOW) > T0 + timedelta(seconds=now_s)
            assert decision.next_due is not None
            assert decision.next_due <= d.since + timedelta(seconds=WINDOW)
    if started:
        assert len(started[0].members) >= 20
