"""The rule of an operator's call: each leg's report acts once, in any order, and a
report for another call's leg acts never."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dispatcher.rules.calls import (
    CallState,
    CallStatus,
    Leg,
    LegReport,
    Progress,
    placed,
    report,
)

OP = "CAoperator"
PARTY = "CAparty"
START = CallState(CallStatus.PLACING)


def play(
    state: CallState, *reports: LegReport
) -> tuple[CallState, list[tuple[str, dict[str, Any]]]]:
    lines: list[tuple[str, dict[str, Any]]] = []
    for r in reports:
        state, new = report(state, r)
        lines += [(line.kind, line.data) for line in new]
    return state, lines


def op(progress: Progress, outcome: str | None = None, duration: int | None = None) -> LegReport:
    return LegReport(Leg.OPERATOR, OP, progress, outcome, duration)


def party(progress: Progress, outcome: str | None = None, duration: int | None = None) -> LegReport:
    return LegReport(Leg.PARTY, PARTY, progress, outcome, duration)


A_GOOD_CALL = (
    op(Progress.RINGING),
    op(Progress.ANSWERED),
    party(Progress.RINGING),
    party(Progress.ANSWERED),
    party(Progress.ENDED, "completed", 95),
    op(Progress.ENDED, "completed", 110),
)


def test_a_good_call_says_connected_then_how_long() -> None:
    state, lines = play(placed(START, OP), *A_GOOD_CALL)
    assert lines == [
        ("call_connected", {}),
        (
            "call_ended",
            {"leg": "party", "outcome": "completed", "answered": True, "duration_s": 95},
        ),
    ]
    assert (state.status, state.duration_s, state.party_sid) == (CallStatus.ENDED, 95, PARTY)


@given(st.lists(st.sampled_from(A_GOOD_CALL), max_size=12))
def test_replays_add_nothing(reports: list[LegReport]) -> None:
    """Any reports told twice write what they write told once."""
    once = list(dict.fromkeys(reports))
    twice = [r for r in once for _ in range(2)]
    assert play(placed(START, OP), *twice) == play(placed(START, OP), *once)


def test_nothing_after_the_end_and_nothing_from_a_stranger() -> None:
    state, _ = play(placed(START, OP), *A_GOOD_CALL)
    assert play(state, party(Progress.ENDED, "busy")) == (state, [])
    early = placed(START, OP)
    stranger = LegReport(Leg.OPERATOR, "CAother", Progress.ENDED, "no-answer")
    assert play(early, stranger) == (early, [])


def test_the_operator_never_answers() -> None:
    state, lines = play(placed(START, OP), op(Progress.RINGING), op(Progress.ENDED, "no-answer"))
    assert lines == [("call_ended", {"leg": "operator", "outcome": "no-answer"})]
    assert state.status == CallStatus.ENDED


def test_the_party_is_busy() -> None:
    _, lines = play(
        placed(START, OP), op(Progress.ANSWERED), party(Progress.ENDED, "busy"), op(Progress.ENDED)
    )
    assert lines == [("call_ended", {"leg": "party", "outcome": "busy", "answered": False})]


def test_the_operator_hangs_up_before_anyone_is_rung() -> None:
    _, lines = play(placed(START, OP), op(Progress.ANSWERED), op(Progress.ENDED, "completed", 3))
    assert lines == [("call_ended", {"leg": "party", "outcome": "not_connected"})]


def test_lost_reports_are_made_up_for() -> None:
    """Only the last report of each leg arrives: still one line with the talk time."""
    _, lines = play(START, party(Progress.ENDED, "completed", 40), op(Progress.ENDED, "completed"))
    assert lines == [
        ("call_ended", {"leg": "party", "outcome": "completed", "answered": True, "duration_s": 40})
    ]


def test_reports_before_the_provider_answered_win() -> None:
    state, _ = play(START, op(Progress.ANSWERED))
    assert placed(state, OP) == state  # the provider's late answer changes nothing
    assert placed(START, None).status == CallStatus.PLACED


def test_an_unknown_outcome_is_a_failure() -> None:
    _, lines = play(placed(START, OP), op(Progress.ENDED, "exploded"))
    assert lines == [("call_ended", {"leg": "operator", "outcome": "failed"})]
