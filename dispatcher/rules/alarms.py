"""The alarm lifecycle: what a terminal event does to a resident's alarms, and what an
operator may do to one. Pure: the caller supplies the open alarms and the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from devices.events import EventType
from dispatcher.rules.checkins import counts_as_checkin
from dispatcher.rules.policy import AlarmKind


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    HELP_GIVEN = "help_given"
    FALSE_ALARM = "false_alarm"
    AMBULANCE_CALLED = "ambulance_called"
    RESIDENT_NOT_HOME = "resident_not_home"
    OTHER = "other"
    # set by the system, not offered to operators
    RESIDENT_CHECKED_IN = "resident_checked_in"
    DEVICE_RECOVERED = "device_recovered"
    SERVICE_DONE = "service_done"  # the provider (or an operator for them) said done
    RESOLVED_ITSELF = "resolved_itself"  # an outage whose terminals are all back


OPERATOR_OUTCOMES = (
    Outcome.HELP_GIVEN,
    Outcome.FALSE_ALARM,
    Outcome.AMBULANCE_CALLED,
    Outcome.RESIDENT_NOT_HOME,
    Outcome.OTHER,
)

# event type -> (kind, priority; 1 is the most urgent) of the alarm it opens
_OPENS: dict[EventType, tuple[AlarmKind, int]] = {
    EventType.SOS: (AlarmKind.EMERGENCY, 1),
    EventType.FALL: (AlarmKind.EMERGENCY, 1),
    EventType.TAMPER: (AlarmKind.DEVICE, 2),
    EventType.SERVICE: (AlarmKind.SERVICE, 3),
    EventType.LOW_BATTERY: (AlarmKind.DEVICE, 4),
}
# the alarms the engine opens, with their priorities: a power cut or a silent terminal
# (the resident cannot call for help), a missed check-in, many terminals down at once
POWER_LOST_PRIORITY = 3
OFFLINE_PRIORITY = 3
MISSED_CHECKIN_PRIORITY = 2
OUTAGE_PRIORITY = 2
MISSED_CHECKIN = "missed_checkin"


@dataclass(frozen=True, slots=True)
class OpenAlarmView:
    """What the rules need to know of an alarm that is not resolved yet."""

    id: int
    kind: AlarmKind
    type: str
    status: Status
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True)
class Open:
    kind: AlarmKind
    type: str
    priority: int


@dataclass(frozen=True, slots=True)
class Attach:
    """A repeat of what an open alarm is already about: logged on it, no new alarm."""

    alarm_id: int
    note: str


@dataclass(frozen=True, slots=True)
class MarkCancel:
    alarm_id: int


@dataclass(frozen=True, slots=True)
class ClearCancel:
    """The resident pressed again after cancelling: the emergency is real after all."""

    alarm_id: int


@dataclass(frozen=True, slots=True)
class Resolve:
    alarm_id: int
    outcome: Outcome
    by: str


@dataclass(frozen=True, slots=True)
class LogOnly:
    reason: str


Effect = Open | Attach | MarkCancel | ClearCancel | Resolve | LogOnly


def effects_of_event(
    event_type: EventType,
    open_alarms: list[OpenAlarmView],
    *,
    cancel_closes_emergency: bool,
    pressed: bool = True,
) -> tuple[Effect, ...]:
    """`effect_of_event`, then, for any press that is a sign of life, the close of a
    missed check-in (a resident who presses sos after missing it is alive, and has an
    emergency besides). `pressed` False: the terminal sent it of itself (a periodic
    test report), which says nothing of the resident."""
    main = effect_of_event(event_type, open_alarms, cancel_closes_emergency=cancel_closes_emergency)
    missed = _first(open_alarms, AlarmKind.CHECKIN)
    if (
        missed is None
        or not pressed
        or not counts_as_checkin(event_type)
        or (isinstance(main, Resolve) and main.alarm_id == missed.id)
    ):
        return (main,)
    return (main, Resolve(missed.id, Outcome.RESIDENT_CHECKED_IN, "resident"))


def effect_of_event(
    event_type: EventType,
    open_alarms: list[OpenAlarmView],
    *,
    cancel_closes_emergency: bool,
) -> Effect:
    """What one accepted terminal event does. `open_alarms`: the terminal's unresolved
    alarms, newest first. A power_lost opens nothing at once: the engine holds it for
    the outage window (`rules.outages`), then opens the terminal's own alarm if no
    outage took it."""
    if event_type is EventType.POWER_LOST:
        lost = _first(open_alarms, AlarmKind.DEVICE, EventType.POWER_LOST)
        if lost is not None:
            return Attach(lost.id, "repeated power_lost")
        return LogOnly("power lost: held for the outage window")
    if event_type in _OPENS:
        kind, priority = _OPENS[event_type]
        same = _first(open_alarms, kind, event_type if kind is AlarmKind.DEVICE else None)
        if same is None:
            return Open(kind, event_type.value, priority)
        if same.cancel_requested and kind is AlarmKind.EMERGENCY:
            return ClearCancel(same.id)
        return Attach(same.id, f"repeated {event_type.value}")
    if event_type is EventType.CANCEL:
        emergency = _first(open_alarms, AlarmKind.EMERGENCY)
        if emergency is None:
            return LogOnly("cancel with no open emergency")
        if cancel_closes_emergency:
            return Resolve(emergency.id, Outcome.FALSE_ALARM, "resident")
        return MarkCancel(emergency.id)
    if event_type is EventType.CHECKIN:
        missed = _first(open_alarms, AlarmKind.CHECKIN)
        if missed is None:
            return LogOnly("check-in")
        return Resolve(missed.id, Outcome.RESIDENT_CHECKED_IN, "resident")
    if event_type is EventType.POWER_RESTORED:
        lost = _first(open_alarms, AlarmKind.DEVICE, EventType.POWER_LOST)
        if lost is None:
            return LogOnly("power restored")
        return Resolve(lost.id, Outcome.DEVICE_RECOVERED, "terminal")
    return LogOnly(f"{event_type.value} logged")


def _first(
    alarms: list[OpenAlarmView], kind: AlarmKind, type_: EventType | None = None
) -> OpenAlarmView | None:
    for alarm in alarms:
        if alarm.kind is kind and (type_ is None or alarm.type == type_.value):
            return alarm
    return None


class TransitionError(Exception):
    """An action that the alarm's state does not allow. `code` maps to HTTP; `reason`
    (not_found, resolved, taken, bad_outcome) lets a phone reply say it in words, and
    `taken_by` who has the alarm when it is taken."""

    def __init__(
        self, code: int, message: str, *, reason: str, taken_by: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.taken_by = taken_by


@dataclass(frozen=True, slots=True)
class AckChange:
    acknowledged_at: datetime
    acknowledged_by: str
    changed: bool  # False: the same person took it again; nothing to log or send


def acknowledge(
    status: Status, acknowledged_by: str | None, *, by: str, now: datetime
) -> AckChange:
    if status is Status.RESOLVED:
        raise TransitionError(409, "alarm is already resolved", reason="resolved")
    if status is Status.ACKNOWLEDGED:
        if acknowledged_by == by:
            return AckChange(now, by, changed=False)
        raise TransitionError(
            409,
            f"alarm already taken by {acknowledged_by}",
            reason="taken",
            taken_by=acknowledged_by,
        )
    return AckChange(now, by, changed=True)


@dataclass(frozen=True, slots=True)
class Arrival:
    first: bool  # the first one at the door sets arrived_at; later ones are timeline lines


def arrive(status: Status, arrived_at: datetime | None) -> Arrival:
    """Someone is at the door (docs/daily-care.md). Any alarm not yet closed."""
    if status is Status.RESOLVED:
        raise TransitionError(409, "alarm is already resolved", reason="resolved")
    return Arrival(first=arrived_at is None)


def check_resolve(status: Status, outcome: str) -> Outcome:
    if status is Status.RESOLVED:
        raise TransitionError(409, "alarm is already resolved", reason="resolved")
    try:
        chosen = Outcome(outcome)
    except ValueError:
        allowed = ", ".join(o.value for o in OPERATOR_OUTCOMES)
        raise TransitionError(
            422, f"unknown outcome {outcome!r}; one of: {allowed}", reason="bad_outcome"
        ) from None
    if chosen not in OPERATOR_OUTCOMES:
        raise TransitionError(
            422, f"outcome {outcome!r} is set by the system only", reason="bad_outcome"
        )
    return chosen
