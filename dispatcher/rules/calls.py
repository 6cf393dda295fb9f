"""An operator's call to the resident, a contact or a worker (docs/api.md): the
provider rings the operator's phone first, then connects the other party. The provider
reports each leg's progress, possibly twice and possibly out of order; this decides what
a report changes and which timeline lines it writes, whatever the provider.

A report that changes nothing writes nothing: a replay, a late report after the call
ended, a report for a leg whose provider id is not the one already known.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Leg(StrEnum):
    OPERATOR = "operator"  # the call to the operator's own phone
    PARTY = "party"  # the call to the resident, contact or worker, once the operator answered


class Progress(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class CallStatus(StrEnum):
    PLACING = "placing"  # written, the provider not asked yet
    PLACED = "placed"  # the provider took it: the operator's phone rings
    OPERATOR_ANSWERED = "operator_answered"  # the other party is being rung
    CONNECTED = "connected"
    ENDED = "ended"
    FAILED = "failed"  # the provider refused it


FINAL = frozenset({CallStatus.ENDED, CallStatus.FAILED})
# how a leg may end, in the words Twilio uses (others map theirs onto these)
OUTCOMES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
# the operator answered and hung up before anyone else was rung
NOT_CONNECTED = "not_connected"


@dataclass(frozen=True, slots=True)
class LegReport:
    """One progress report of one leg. `outcome` and `duration_s` only for ENDED."""

    leg: Leg
    sid: str
    progress: Progress
    outcome: str | None = None
    duration_s: int | None = None


@dataclass(frozen=True, slots=True)
class CallState:
    status: CallStatus
    operator_sid: str | None = None
    party_sid: str | None = None
    operator_answered: bool = False
    party_answered: bool = False
    outcome: str | None = None
    duration_s: int | None = None


@dataclass(frozen=True, slots=True)
class Line:
    """A timeline line to write: `call_connected` or `call_ended`, with what it says."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


def placed(state: CallState, sid: str | None) -> CallState:
    """The provider took the call. Its reports may have come first: they win."""
    if state.status != CallStatus.PLACING:
        return state if state.operator_sid or sid is None else _with(state, operator_sid=sid)
    return _with(state, status=CallStatus.PLACED, operator_sid=state.operator_sid or sid)


def report(state: CallState, r: LegReport) -> tuple[CallState, list[Line]]:
    """The call after one report, and the lines it writes (none when it changes nothing)."""
    if state.status in FINAL:
        return state, []
    known = state.operator_sid if r.leg == Leg.OPERATOR else state.party_sid
    if known is not None and known != r.sid:
        return state, []  # not this call's leg
    if r.leg == Leg.OPERATOR:
        state = _with(state, operator_sid=r.sid)
        if state.status == CallStatus.PLACING:
            state = _with(state, status=CallStatus.PLACED)
        return _operator(state, r)
    state = _with(state, party_sid=r.sid)
    if not state.operator_answered:  # the party is rung only once the operator answered
        state = _with(state, operator_answered=True, status=CallStatus.OPERATOR_ANSWERED)
    return _party(state, r)


def _operator(state: CallState, r: LegReport) -> tuple[CallState, list[Line]]:
    if r.progress == Progress.RINGING:
        return state, []
    answered = (
        state.operator_answered or r.progress == Progress.ANSWERED or (r.outcome == "completed")
    )
    if answered and not state.operator_answered:
        state = _with(state, operator_answered=True)
        if state.status == CallStatus.PLACED:
            state = _with(state, status=CallStatus.OPERATOR_ANSWERED)
    if r.progress != Progress.ENDED:
        return state, []
    if not answered:
        outcome = _outcome(r.outcome)
        return _ended(state, outcome, None), [
            Line("call_ended", {"leg": Leg.OPERATOR.value, "outcome": outcome})
        ]
    if state.party_sid is None and not state.party_answered:
        return _ended(state, NOT_CONNECTED, None), [
            Line("call_ended", {"leg": Leg.PARTY.value, "outcome": NOT_CONNECTED})
        ]
    # the other leg ends with it; its own report says how long they talked
    return state, []


def _party(state: CallState, r: LegReport) -> tuple[CallState, list[Line]]:
    if r.progress == Progress.RINGING:
        return state, []
    if r.progress == Progress.ANSWERED:
        if state.party_answered:
            return state, []
        connected = _with(state, party_answered=True, status=CallStatus.CONNECTED)
        return connected, [Line("call_connected")]
    outcome = _outcome(r.outcome)
    answered = state.party_answered or outcome == "completed"
    duration = max(0, r.duration_s or 0) if answered else None
    data: dict[str, Any] = {"leg": Leg.PARTY.value, "outcome": outcome, "answered": answered}
    if duration is not None:
        data["duration_s"] = duration
    return _ended(_with(state, party_answered=answered), outcome, duration), [
        Line("call_ended", data)
    ]


def _outcome(value: str | None) -> str:
    return value if value in OUTCOMES else "failed"


def _ended(state: CallState, outcome: str, duration_s: int | None) -> CallState:
    return _with(state, status=CallStatus.ENDED, outcome=outcome, duration_s=duration_s)


def _with(state: CallState, **changes: Any) -> CallState:
    return dataclasses.replace(state, **changes)
