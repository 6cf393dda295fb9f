"""Service requests (the green button, docs/daily-care.md): a provider is sent, accepts, is
on the way, is done. A small state machine. Pure.

States only move forward: accepted -> on_the_way -> done, any of them may be skipped
(a provider who replies 4 at once was quick), none undone. `done` closes the alarm with
outcome `service_done`. The same state twice changes nothing (a repeated SMS reply).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dispatcher.rules.alarms import Status, TransitionError
from dispatcher.rules.policy import AlarmKind


class ServiceState(StrEnum):
    ACCEPTED = "accepted"
    ON_THE_WAY = "on_the_way"
    DONE = "done"


_ORDER = {ServiceState.ACCEPTED: 1, ServiceState.ON_THE_WAY: 2, ServiceState.DONE: 3}


def _rank(state: str | None) -> int:
    return _ORDER[ServiceState(state)] if state else 0


def check_service(kind: AlarmKind, status: Status) -> None:
    """A provider can be sent to, and report on, an unresolved service request only."""
    if kind is not AlarmKind.SERVICE:
        raise TransitionError(
            409, "only a service request (kind service) has providers", reason="not_service"
        )
    if status is Status.RESOLVED:
        raise TransitionError(409, "alarm is already resolved", reason="resolved")


@dataclass(frozen=True, slots=True)
class StateChange:
    state: ServiceState
    changed: bool  # False: the same state again; nothing to log
    closes: bool  # done: the alarm closes with outcome service_done
    acknowledges: bool  # nobody had taken the request: whoever reports takes it


def change_state(
    kind: AlarmKind,
    status: Status,
    current: str | None,
    wanted: ServiceState,
    *,
    provider_id: str | None = None,
    current_provider: str | None = None,
) -> StateChange:
    """`provider_id`: the provider who says so (None: an operator, for the provider
    sent). Once one provider has accepted, another cannot report on the request."""
    check_service(kind, status)
    if (
        provider_id is not None
        and current is not None
        and current_provider is not None
        and provider_id != current_provider
    ):
        raise TransitionError(
            409,
            f"the request is with provider {current_provider}",
            reason="taken",
            taken_by=current_provider,
        )
    if _rank(wanted.value) < _rank(current):
        raise TransitionError(
            409, f"the service is {current} already; it cannot go back to {wanted}", reason="back"
        )
    changed = wanted.value != current
    return StateChange(
        wanted,
        changed=changed,
        closes=changed and wanted is ServiceState.DONE,
        acknowledges=changed and status is Status.OPEN,
    )
