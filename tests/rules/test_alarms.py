"""The alarm lifecycle rules, every event type against every relevant open alarm."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devices.events import EventType
from dispatcher.rules import alarms as r
from dispatcher.rules.policy import AlarmKind

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def view(
    id_: int, kind: AlarmKind, type_: str, *, cancelled: bool = False, status: str = "open"
) -> r.OpenAlarmView:
    return r.OpenAlarmView(id_, kind, type_, r.Status(status), cancelled)


EMERGENCY = view(7, AlarmKind.EMERGENCY, "sos")
SERVICE = view(8, AlarmKind.SERVICE, "service")
LOW_BATTERY = view(9, AlarmKind.DEVICE, "low_battery")
POWER_LOST = view(10, AlarmKind.DEVICE, "power_lost")
MISSED_CHECKIN = view(11, AlarmKind.CHECKIN, "missed_checkin")


def effect(event: EventType, *open_: r.OpenAlarmView, closes: bool = False) -> r.Effect:
    return r.effect_of_event(event, list(open_), cancel_closes_emergency=closes)


@pytest.mark.parametrize(
    ("event", "kind", "priority"),
    [
        (EventType.SOS, AlarmKind.EMERGENCY, 1),
        (EventType.FALL, AlarmKind.EMERGENCY, 1),
        (EventType.TAMPER, AlarmKind.DEVICE, 2),
        (EventType.SERVICE, AlarmKind.SERVICE, 3),
        (EventType.LOW_BATTERY, AlarmKind.DEVICE, 4),
    ],
)
def test_alarm_events_open_an_alarm_when_none_is_open(
    event: EventType, kind: AlarmKind, priority: int
) -> None:
    assert effect(event) == r.Open(kind, event.value, priority)


def test_a_second_press_joins_the_open_emergency() -> None:
    assert effect(EventType.SOS, EMERGENCY) == r.Attach(7, "repeated sos")
    assert effect(EventType.FALL, EMERGENCY) == r.Attach(7, "repeated fall")


def test_an_acknowledged_emergency_still_takes_repeats() -> None:
    taken = view(7, AlarmKind.EMERGENCY, "sos", status="acknowledged")
    assert effect(EventType.SOS, taken) == r.Attach(7, "repeated sos")


def test_other_kinds_do_not_absorb_an_emergency() -> None:
    assert effect(EventType.SOS, SERVICE, LOW_BATTERY) == r.Open(AlarmKind.EMERGENCY, "sos", 1)


def test_device_alarms_join_only_their_own_type() -> None:
    assert effect(EventType.LOW_BATTERY, LOW_BATTERY) == r.Attach(9, "repeated low_battery")
    assert effect(EventType.TAMPER, LOW_BATTERY) == r.Open(AlarmKind.DEVICE, "tamper", 2)


def test_cancel_marks_the_emergency_for_an_operator_by_default() -> None:
    assert effect(EventType.CANCEL, SERVICE, EMERGENCY) == r.MarkCancel(7)


def test_cancel_closes_the_emergency_when_configured() -> None:
    assert effect(EventType.CANCEL, EMERGENCY, closes=True) == r.Resolve(
        7, r.Outcome.FALSE_ALARM, "resident"
    )


def test_cancel_without_emergency_is_only_logged() -> None:
    assert isinstance(effect(EventType.CANCEL, SERVICE), r.LogOnly)


def test_pressing_again_after_cancel_makes_it_real_again() -> None:
    cancelled = view(7, AlarmKind.EMERGENCY, "sos", cancelled=True)
    assert effect(EventType.SOS, cancelled) == r.ClearCancel(7)


def test_checkin_resolves_a_missed_checkin() -> None:
    assert effect(EventType.CHECKIN, MISSED_CHECKIN) == r.Resolve(
        11, r.Outcome.RESIDENT_CHECKED_IN, "resident"
    )
    assert isinstance(effect(EventType.CHECKIN), r.LogOnly)


def test_power_lost_opens_nothing_at_once_the_outage_check_holds_it() -> None:
    assert isinstance(effect(EventType.POWER_LOST), r.LogOnly)
    # a terminal with its own power_lost alarm open says it again
    assert effect(EventType.POWER_LOST, POWER_LOST) == r.Attach(10, "repeated power_lost")


def effects(event: EventType, *open_: r.OpenAlarmView) -> tuple[r.Effect, ...]:
    return r.effects_of_event(event, list(open_), cancel_closes_emergency=False)


@pytest.mark.parametrize(
    "event", [EventType.SOS, EventType.FALL, EventType.SERVICE, EventType.CANCEL, EventType.TEST]
)
def test_any_press_of_a_person_closes_a_missed_checkin_too(event: EventType) -> None:
    found = effects(event, MISSED_CHECKIN)
    assert found[0] == effect(event, MISSED_CHECKIN)
    assert found[1:] == (r.Resolve(11, r.Outcome.RESIDENT_CHECKED_IN, "resident"),)


@pytest.mark.parametrize(
    "event",
    [EventType.LOW_BATTERY, EventType.POWER_LOST, EventType.POWER_RESTORED, EventType.TAMPER],
)
def test_what_a_terminal_says_of_itself_is_no_sign_of_life(event: EventType) -> None:
    assert effects(event, MISSED_CHECKIN) == (effect(event, MISSED_CHECKIN),)


def test_a_periodic_test_report_the_terminal_sends_of_itself_is_no_sign_of_life() -> None:
    # a DC-09 panel's automatic test (Contact ID 602) arrives as `test`, not pressed
    found = r.effects_of_event(
        EventType.TEST, [MISSED_CHECKIN], cancel_closes_emergency=False, pressed=False
    )
    assert found == (effect(EventType.TEST, MISSED_CHECKIN),)


def test_a_checkin_closes_the_missed_one_once() -> None:
    assert effects(EventType.CHECKIN, MISSED_CHECKIN) == (
        r.Resolve(11, r.Outcome.RESIDENT_CHECKED_IN, "resident"),
    )
    assert effects(EventType.SOS) == (r.Open(AlarmKind.EMERGENCY, "sos", 1),)


def test_arrival_on_any_alarm_not_closed_the_first_one_counts() -> None:
    assert r.arrive(r.Status.OPEN, None) == r.Arrival(first=True)
    assert r.arrive(r.Status.ACKNOWLEDGED, NOW) == r.Arrival(first=False)
    with pytest.raises(r.TransitionError, match="resolved") as closed:
        r.arrive(r.Status.RESOLVED, None)
    assert closed.value.code == 409


def test_power_restored_resolves_power_lost_only() -> None:
    assert effect(EventType.POWER_RESTORED, LOW_BATTERY, POWER_LOST) == r.Resolve(
        10, r.Outcome.DEVICE_RECOVERED, "terminal"
    )
    assert isinstance(effect(EventType.POWER_RESTORED, LOW_BATTERY), r.LogOnly)


def test_test_press_never_opens_an_alarm() -> None:
    assert isinstance(effect(EventType.TEST), r.LogOnly)
    assert isinstance(effect(EventType.TEST, EMERGENCY), r.LogOnly)


@pytest.mark.parametrize("event", list(EventType))
def test_every_event_type_has_an_effect(event: EventType) -> None:
    assert isinstance(effect(event), r.Open | r.LogOnly)
    assert effect(event, EMERGENCY, SERVICE, LOW_BATTERY, POWER_LOST, MISSED_CHECKIN) is not None


def test_acknowledge_open_alarm() -> None:
    change = r.acknowledge(r.Status.OPEN, None, by="op1", now=NOW)
    assert change == r.AckChange(NOW, "op1", changed=True)


def test_acknowledge_twice_by_the_same_person_is_harmless() -> None:
    assert not r.acknowledge(r.Status.ACKNOWLEDGED, "op1", by="op1", now=NOW).changed


def test_acknowledge_taken_or_resolved_alarm_is_refused() -> None:
    with pytest.raises(r.TransitionError, match="already taken by op1") as taken:
        r.acknowledge(r.Status.ACKNOWLEDGED, "op1", by="op2", now=NOW)
    assert taken.value.code == 409
    with pytest.raises(r.TransitionError, match="resolved"):
        r.acknowledge(r.Status.RESOLVED, "op1", by="op1", now=NOW)


@pytest.mark.parametrize("outcome", list(r.OPERATOR_OUTCOMES))
def test_operators_resolve_with_any_listed_outcome(outcome: r.Outcome) -> None:
    assert r.check_resolve(r.Status.OPEN, outcome.value) is outcome
    assert r.check_resolve(r.Status.ACKNOWLEDGED, outcome.value) is outcome


def test_resolve_refuses_unknown_system_or_repeated() -> None:
    with pytest.raises(r.TransitionError, match="unknown outcome") as bad:
        r.check_resolve(r.Status.OPEN, "teleported")
    assert bad.value.code == 422
    with pytest.raises(r.TransitionError, match="system"):
        r.check_resolve(r.Status.OPEN, "device_recovered")
    with pytest.raises(r.TransitionError, match="already resolved"):
        r.check_resolve(r.Status.RESOLVED, "help_given")
