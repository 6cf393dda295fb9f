"""Alarms as the API shows them (docs/api.md and what the dashboard reads beside it),
and what operators send to act on one."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from dispatcher.rules.alarms import OPERATOR_OUTCOMES, Outcome, Status
from dispatcher.rules.outages import Reason
from dispatcher.rules.policy import AlarmKind
from dispatcher.rules.service import ServiceState
from dispatcher.web.schemas.base import Answer, Day, Query, RowId, Sent, Time
from dispatcher.web.schemas.people import Contact, Resident, Worker
from dispatcher.web.schemas.terminals import Terminal


class Alarm(Answer):
    """The fields of docs/api.md, and the escalation state beside them."""

    id: int
    device_id: str | None
    resident_id: str | None
    kind: AlarmKind
    type: str
    """The event type that opened it: `sos`, `fall`, `service`, `offline`, ..."""
    status: Status
    priority: int
    """1 is the most urgent."""
    created_at: Time
    acknowledged_at: Time | None
    acknowledged_by: str | None
    resolved_at: Time | None
    outcome: Outcome | None
    step: int
    """The index of the escalation step reached, from 0."""
    round: int
    """How many times the escalation policy started again."""
    next_step_at: Time | None
    """When the next step is due; none once taken, closed or out of steps."""
    escalation_exhausted: bool
    """Every step of every round was tried; the supervisors were alerted."""
    cancel_requested_at: Time | None
    """The resident pressed cancel; an operator confirms the close."""
    note: str | None
    """The note given when it was resolved."""
    community_id: str | None
    """The community it belongs to: its resident's, or an outage's."""
    arrived_at: Time | None
    """When someone first reached the door: attendance time is this less `created_at`."""
    arrived_by: str | None
    provider_id: str | None
    """A service request: the provider it was sent to, or who accepted it."""
    service_state: ServiceState | None
    """A service request: `accepted`, `on_the_way`, `done`."""
    members: int | None
    """An outage (kind device, type outage): how many terminals it holds now."""


class TimelineLine(Answer):
    id: int
    at: Time
    kind: str
    """`device_event`, `alarm_opened`, `ack`, `resolve`, `note`, `step_fired`, ..."""
    type: str | None
    actor: str | None
    device_id: str | None
    event_id: str | None
    data: dict[str, Any] | None
    """What happened, as the line's kind tells it."""


class AlarmDetail(Alarm):
    """One alarm with every event, notification and action on it, in order."""

    timeline: list[TimelineLine]
    member_ids: list[str]
    """An outage: the device ids of the terminals it holds now (empty for others)."""


class QueueResident(Answer):
    id: str
    name: str
    birth_year: int | None
    address: str
    community: str
    """The community's name."""


class QueueLine(Alarm):
    """An alarm as the queue and the live feed show it."""

    rev: int
    """The newest timeline line's id: grows with every change to the alarm."""
    resident: QueueResident | None
    community: str | None
    """The name of the community it belongs to."""


class Queue(Answer):
    now: Time
    alarms: list[QueueLine]
    """The unresolved alarms, most urgent first, then oldest first."""


class Notification(Answer):
    id: int
    purpose: str
    """`step`, `exhausted`, `ack_overdue`, `command`, ..."""
    step: int
    round: int
    recipient: str
    recipient_key: str
    phone: str | None
    channel: str
    """`dashboard`, `sms`, `voice` or `terminal`."""
    status: str
    """`pending`, `sending`, `sent`, `delivered`, `failed`, `permanent_failure`,
    `cancelled`."""
    provider_status: str | None
    attempts: int
    last_error: str | None
    created_at: Time
    sent_at: Time | None
    updated_at: Time | None


class Provider(Answer):
    """A provider of the community's ten-minute life service circle."""

    id: str
    name: str
    category: str
    """As the city file names it: `meals`, `housekeeping`, `repairs`, ..."""
    phone: str


class MemberResident(Answer):
    id: str
    name: str
    address: str


class OutageMember(Answer):
    """A terminal an outage holds, or held."""

    device_id: str
    reason: Reason
    joined_at: Time
    left_at: Time | None
    """When it was back (online, power restored); none while it is still down."""
    online: bool
    resident: MemberResident | None


class AlarmView(Alarm):
    """One alarm with all that is known around it: the alarm page of the dashboard."""

    rev: int
    """As in the queue."""
    resolved_by: str | None
    community: str | None
    """The name of the community it belongs to."""
    resident: Resident | None
    terminal: Terminal | None
    contacts: list[Contact]
    workers: list[Worker]
    """The community's workers, those on shift first."""
    providers: list[Provider]
    """The community's providers, by category: whom a service request can be sent to."""
    outage_members: list[OutageMember]
    """An outage: every terminal it holds or held, still down first."""
    notifications: list[Notification]
    timeline: list[TimelineLine]
    outcomes: list[Outcome]
    """What an operator may close it with."""
    sms_opted_out: list[str]
    """The phones of the view (resident, contacts, workers, providers) that replied STOP:
    they get no SMS until they reply START."""
    now: Time


def _empty_is_none(value: object) -> object:
    return value or None  # `?status=` has always meant any status


class StatusFilter(StrEnum):
    OPEN = Status.OPEN.value
    ACKNOWLEDGED = Status.ACKNOWLEDGED.value
    RESOLVED = Status.RESOLVED.value
    ALL = "all"


class AlarmFilters(Query):
    status: Annotated[StatusFilter | None, BeforeValidator(_empty_is_none)] = None
    """Only alarms of this status. `resolved` and `all` list the newest first (the
    history); the others, or none, the most urgent first (the queue)."""
    from_: Day | None = Field(None, alias="from")
    """Created on this local date (the city's time zone) or later."""
    to: Day | None = None
    """Created on this local date or earlier."""
    community: str | None = None
    """The community's id."""
    kind: AlarmKind | None = None
    q: Annotated[str, StringConstraints(max_length=100)] = ""
    """Part of the resident's name or id, or of the terminal's id."""

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise ValueError("`to` is before `from`")
        return self

    @property
    def newest_first(self) -> bool:
        return self.status in (StatusFilter.RESOLVED, StatusFilter.ALL)


class AlarmsQuery(AlarmFilters):
    limit: int = 200
    """At most this many (1 to 1000)."""
    before: RowId | None = None
    """An alarm's id: the page after it (with `status=resolved` or `all`)."""

    @model_validator(mode="after")
    def _pages_the_history(self) -> Self:
        if self.before is not None and not self.newest_first:
            raise ValueError("`before` pages the newest-first lists: status=resolved or all")
        return self


class HistoryResident(Answer):
    id: str
    name: str
    address: str


class HistoryLine(Alarm):
    """An alarm in the list: who it is about and where."""

    community_id: str | None
    community: str | None
    """The community's name."""
    resolved_by: str | None
    resident: HistoryResident | None


def _operator_outcome(value: str) -> str:
    if value not in OPERATOR_OUTCOMES:
        allowed = ", ".join(OPERATOR_OUTCOMES)
        raise ValueError(f"unknown outcome {value!r}; one of: {allowed}")
    return value


OperatorOutcome = Annotated[
    str,
    AfterValidator(_operator_outcome),
    WithJsonSchema({"enum": [o.value for o in OPERATOR_OUTCOMES]}),
]


class Resolve(Sent):
    outcome: OperatorOutcome
    note: str | None = None


class Note(Sent):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    """Longer ones are cut at 2000 characters."""


class Arrived(Sent):
    who: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    """Who is at the door (a worker's, contact's or provider's name), as the operator heard."""


class Dispatch(Sent):
    provider_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """One of the providers of the alarm's community (`providers` of the alarm view)."""


class ServiceUpdate(Sent):
    state: ServiceState
    """How far the service is, as its provider said (by phone): `accepted`,
    `on_the_way`, `done` (closes the request with outcome `service_done`)."""
