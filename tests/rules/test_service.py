"""Service requests as a small state machine: forward only, done closes, one provider."""

from __future__ import annotations

import pytest

from dispatcher.rules.alarms import Status, TransitionError
from dispatcher.rules.policy import AlarmKind
from dispatcher.rules.service import ServiceState, StateChange, change_state, check_service

SERVICE = AlarmKind.SERVICE
ACCEPTED, ON_THE_WAY, DONE = ServiceState.ACCEPTED, ServiceState.ON_THE_WAY, ServiceState.DONE


def test_a_provider_accepting_an_untaken_request_takes_it() -> None:
    assert change_state(SERVICE, Status.OPEN, None, ACCEPTED) == StateChange(
        ACCEPTED, changed=True, closes=False, acknowledges=True
    )


@pytest.mark.parametrize(
    ("current", "wanted"),
    [(None, ON_THE_WAY), ("accepted", ON_THE_WAY), ("on_the_way", DONE), (None, DONE)],
)
def test_states_move_forward_and_may_skip(current: str | None, wanted: ServiceState) -> None:
    change = change_state(SERVICE, Status.ACKNOWLEDGED, current, wanted)
    assert change.changed
    assert change.closes is (wanted is DONE)
    assert not change.acknowledges


def test_the_same_state_again_changes_nothing() -> None:
    change = change_state(SERVICE, Status.ACKNOWLEDGED, "accepted", ACCEPTED)
    assert not change.changed
    assert not change.closes
    assert not change.acknowledges


def test_no_going_back() -> None:
    with pytest.raises(TransitionError, match="cannot go back") as back:
        change_state(SERVICE, Status.ACKNOWLEDGED, "on_the_way", ACCEPTED)
    assert back.value.code == 409


def test_only_an_unresolved_service_request() -> None:
    with pytest.raises(TransitionError, match="kind service") as wrong:
        check_service(AlarmKind.EMERGENCY, Status.OPEN)
    assert wrong.value.reason == "not_service"
    with pytest.raises(TransitionError, match="resolved"):
        change_state(SERVICE, Status.RESOLVED, "accepted", DONE)


def test_another_provider_cannot_report_on_one_taken() -> None:
    with pytest.raises(TransitionError, match="with provider p-1") as taken:
        change_state(
            SERVICE,
            Status.ACKNOWLEDGED,
            "accepted",
            DONE,
            provider_id="p-2",
            current_provider="p-1",
        )
    assert (taken.value.reason, taken.value.taken_by) == ("taken", "p-1")
    # before anyone accepted, any provider of the ones told may
    change = change_state(
        SERVICE, Status.OPEN, None, ACCEPTED, provider_id="p-2", current_provider="p-1"
    )
    assert change.changed
