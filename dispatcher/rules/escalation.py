"""Escalation: whom to notify, on which channels, and when the next step is due.

Pure (docs/README.md; the policies: docs/configuration.md): the shell loads an alarm's
escalation state, its policy and everyone reachable for it (a `Directory`), passes
`now`, and writes the `Decision` back (state, outbox rows, timeline lines) in one
transaction. Each call fires at most one step that notifies someone, so an engine that
was down catches up one step at a time instead of calling everybody at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from dispatcher.rules.policy import Channel, Policy, Step
from dispatcher.rules.roster import Shift, on_shift

# Notify.step of the supervisors' alerts: outside every policy's step indexes, so their
# de-duplication keys never collide with a step's
EXHAUSTED_STEP = -1
ACK_OVERDUE_STEP = -2

_PERSON_KINDS = frozenset({"supervisor", "worker", "contact", "provider"})
_DASHBOARD_KINDS = frozenset({"operators", "supervisor"})


@dataclass(frozen=True, slots=True)
class Recipient:
    """The operators' queue or one person. `key` is stable and de-duplicates:
    "operators", "supervisor:{username}", "worker:{id}", "contact:{id}", "provider:{id}"."""

    key: str
    name: str
    phone: str | None
    language: str = "zh-CN"

    def __post_init__(self) -> None:
        kind, sep, ident = self.key.partition(":")
        if self.key != "operators" and not (sep and ident and kind in _PERSON_KINDS):
            raise ValueError(
                f"bad recipient key {self.key!r}: use operators, supervisor:NAME, worker:ID, "
                "contact:ID or provider:ID"
            )

    @property
    def kind(self) -> str:
        """`operators`, `supervisor`, `worker`, `contact` or `provider`."""
        return self.key.partition(":")[0]

    def reachable_by(self, channel: Channel) -> bool:
        if channel == Channel.DASHBOARD:
            # only call-centre users look at the dashboard
            return self.kind in _DASHBOARD_KINDS
        return bool(self.phone)


OPERATORS = Recipient(key="operators", name="调度员", phone=None)


@dataclass(frozen=True, slots=True)
class RosterWorker:
    recipient: Recipient
    shifts: tuple[Shift, ...]


@dataclass(frozen=True, slots=True)
class RosterContact:
    recipient: Recipient
    priority: int


@dataclass(frozen=True, slots=True)
class RosterProvider:
    recipient: Recipient
    category: str


@dataclass(frozen=True, slots=True)
class Directory:
    """Everyone reachable for ONE alarm: its community's workers and providers, its
    resident's contacts, and the supervisors. Loaded by the shell."""

    workers: tuple[RosterWorker, ...] = ()
    contacts: tuple[RosterContact, ...] = ()
    providers: tuple[RosterProvider, ...] = ()
    supervisors: tuple[Recipient, ...] = ()
    service_default: str | None = None  # the resident's provider category


@dataclass(frozen=True, slots=True)
class EscalationState:
    """`step` (of `round`) is the step reached: its wait runs until `next_step_at`."""

    step: int
    round: int
    next_step_at: datetime | None
    exhausted: bool = False


@dataclass(frozen=True, slots=True)
class Notify:
    """One outbox row. The store makes (recipient.key, channel, step, round) unique per
    alarm; `step` is EXHAUSTED_STEP or ACK_OVERDUE_STEP for the supervisors' alerts."""

    recipient: Recipient
    channel: Channel
    step: int
    round: int


@dataclass(frozen=True, slots=True)
class Logged:
    """One timeline line; `action` is step_fired, step_skipped or exhausted."""

    action: str
    step: int
    round: int
    detail: str
    facts: dict[str, Any] = field(default_factory=dict)
    """The same as codes and names, which the catalog words in the reader's language:
    `reached` [{key, name, channels}], `missing` [{target, why, arg}], `unreachable`
    {names, channels}; for `exhausted`, `rounds` and `alerted` [names]."""


@dataclass(frozen=True, slots=True)
class Decision:
    state: EscalationState
    notifications: tuple[Notify, ...]
    log: tuple[Logged, ...]


def resolve_target(
    target: str, directory: Directory, now: datetime, tz: ZoneInfo
) -> tuple[Recipient, ...]:
    """The recipients a policy target names for this alarm at `now`, in order."""
    return _resolve(target, directory, now, tz)[0]


# why a step's target reached nobody: the code in a timeline's facts, and the log's words
WHY_NONE: Final = {
    "no_supervisor": "no supervisor",
    "no_worker": "no worker in the community",
    "no_worker_on_shift": "no worker on shift",
    "no_contact": "no contact",
    "no_contact_priority": "no contact of priority {arg}",
    "no_default_service": "no default service for the resident",
    "no_provider_category": "no provider of category {arg}",
}


def _resolve(
    target: str, directory: Directory, now: datetime, tz: ZoneInfo
) -> tuple[tuple[Recipient, ...], str]:
    """The recipients, and why there are none when there are none (a code of `WHY_NONE`)."""
    name, _, arg = target.partition(":")
    if target == "operators":
        return (OPERATORS,), ""
    if target == "supervisors":
        return directory.supervisors, "no_supervisor"
    if target in {"workers", "duty_workers"}:
        if not directory.workers:
            return (), "no_worker"
        if target == "workers":
            return tuple(w.recipient for w in directory.workers), ""
        on_duty = (w.recipient for w in directory.workers if on_shift(w.shifts, now, tz))
        return tuple(on_duty), "no_worker_on_shift"
    if target == "contacts":
        ordered = sorted(directory.contacts, key=lambda c: (c.priority, c.recipient.key))
        return tuple(c.recipient for c in ordered), "no_contact"
    if name == "contact" and arg.isdigit():
        # the data may hold two contacts of one priority: notify both, in a stable order
        found = sorted(
            (c.recipient for c in directory.contacts if c.priority == int(arg)),
            key=lambda r: r.key,
        )
        return tuple(found), "no_contact_priority"
    if target == "default_providers":
        if directory.service_default is None:
            return (), "no_default_service"
        arg = directory.service_default
        name = "providers"
    if name == "providers" and arg:
        found_p = (p.recipient for p in directory.providers if p.category == arg)
        return tuple(found_p), "no_provider_category"
    raise ValueError(f"unknown escalation target {target!r}")


def chain_length(policy: Policy) -> int:
    """How many steps the policy fires or skips, all rounds together."""
    return len(policy.steps) * (policy.repeat + 1)


def is_due(state: EscalationState, now: datetime) -> bool:
    return not state.exhausted and state.next_step_at is not None and now >= state.next_step_at


def start(policy: Policy, directory: Directory, now: datetime, tz: ZoneInfo) -> Decision:
    """At alarm creation: fire step 0 of round 0 (or the first step that reaches anyone)."""
    return _run_from(0, policy, directory, now, tz)


def advance(
    state: EscalationState, policy: Policy, directory: Directory, now: datetime, tz: ZoneInfo
) -> Decision:
    """When the step's wait has run out: fire the next step. Before that, no change."""
    if not is_due(state, now):
        return Decision(state, (), ())
    steps = len(policy.steps)
    # min(): a policy reloaded with fewer steps must not skip into the next round
    position = state.round * steps + min(state.step, steps - 1) + 1
    return _run_from(position, policy, directory, now, tz)


def skip_wait(state: EscalationState, now: datetime) -> EscalationState:
    """A notification of this step failed for good: let the next step fire now."""
    if state.exhausted or state.next_step_at is None or state.next_step_at <= now:
        return state
    return replace(state, next_step_at=now)


# a service request is taken and then waits on a provider for hours by design: "taken
# but not closed" is a sign of trouble only for the kinds where a person is in danger
ACK_OVERDUE_KINDS: Final = ("emergency", "checkin", "device")


def ack_overdue_at(acknowledged_at: datetime, timeout_s: int) -> datetime:
    """When the supervisors should hear of an alarm taken at `acknowledged_at` and not
    closed since."""
    return acknowledged_at + timedelta(seconds=timeout_s)


def ack_overdue_cutoff(now: datetime, timeout_s: int) -> datetime:
    """An alarm taken at or before this instant, and not closed, is overdue at `now`."""
    return now - timedelta(seconds=timeout_s)


def supervisors_alert(
    directory: Directory, *, step: int = ACK_OVERDUE_STEP, nth: int = 0
) -> tuple[Notify, ...]:
    """Each supervisor on the dashboard, and by SMS when they have a phone.

    `step` says why (EXHAUSTED_STEP or ACK_OVERDUE_STEP); `nth` becomes the round, so
    a shell that alerts again later gets fresh de-duplication keys.
    """
    channels = (Channel.DASHBOARD, Channel.SMS)
    return tuple(
        Notify(person, channel, step, nth)
        for person in _unique(directory.supervisors)
        for channel in channels
        if person.reachable_by(channel)
    )


def _run_from(
    position: int, policy: Policy, directory: Directory, now: datetime, tz: ZoneInfo
) -> Decision:
    """Fire the step at `position`; skip empty ones at once, until one notifies someone
    or the chain runs out."""
    steps = len(policy.steps)
    log: list[Logged] = []
    for at in range(position, chain_length(policy)):
        round_no, index = divmod(at, steps)
        step = policy.steps[index]
        notifications, logged = _fire(step, directory, now, tz, index=index, round_no=round_no)
        log.append(logged)
        if notifications:
            due = now + timedelta(seconds=step.wait_s)
            return Decision(EscalationState(index, round_no, due), notifications, tuple(log))
    return _exhaust(policy, directory, log)


def _fire(
    step: Step, directory: Directory, now: datetime, tz: ZoneInfo, *, index: int, round_no: int
) -> tuple[tuple[Notify, ...], Logged]:
    channels = tuple(dict.fromkeys(step.channels))
    notes: list[str] = []
    missing: list[dict[str, str]] = []
    found: list[Recipient] = []
    for target in dict.fromkeys(step.notify):
        recipients, why_none = _resolve(target, directory, now, tz)
        if not recipients:
            arg = target.partition(":")[2]
            if target == "default_providers":
                arg = directory.service_default or ""
            notes.append(f"{target}: {WHY_NONE[why_none].format(arg=arg)}")
            missing.append({"target": target, "why": why_none, "arg": arg})
        found.extend(recipients)
    notifications: list[Notify] = []
    reached: list[str] = []
    reached_facts: list[dict[str, Any]] = []
    unreachable: list[str] = []
    for person in _unique(found):
        usable = [c for c in channels if person.reachable_by(c)]
        notifications.extend(Notify(person, c, index, round_no) for c in usable)
        if usable:
            reached.append(f"{person.name} ({'+'.join(usable)})")
            reached_facts.append(
                {"key": person.key, "name": person.name, "channels": [str(c) for c in usable]}
            )
        else:
            unreachable.append(person.name)
    facts: dict[str, Any] = {"reached": reached_facts, "missing": missing}
    if unreachable:
        notes.append(f"not reachable by {'/'.join(channels)}: {', '.join(unreachable)}")
        facts["unreachable"] = {"names": unreachable, "channels": [str(c) for c in channels]}
    action = "step_fired" if notifications else "step_skipped"
    detail = "; ".join([*reached, *notes])
    return tuple(notifications), Logged(action, index, round_no, detail, facts)


def _exhaust(policy: Policy, directory: Directory, log: list[Logged]) -> Decision:
    last_round, last_step = divmod(chain_length(policy) - 1, len(policy.steps))
    alerts = supervisors_alert(directory, step=EXHAUSTED_STEP, nth=last_round)
    rounds = policy.repeat + 1
    alerted = [p.name for p in _unique(n.recipient for n in alerts)]
    if alerts:
        names = ", ".join(alerted)
        detail = f"nobody acknowledged in {rounds} round(s); supervisors alerted: {names}"
    else:
        detail = f"nobody acknowledged in {rounds} round(s); no supervisor to alert"
    facts = {"rounds": rounds, "alerted": alerted}
    log.append(Logged("exhausted", last_step, last_round, detail, facts))
    state = EscalationState(last_step, last_round, None, exhausted=True)
    return Decision(state, alerts, tuple(log))


def _unique(people: Iterable[Recipient]) -> tuple[Recipient, ...]:
    """Once each, by key, in the order first met."""
    seen: dict[str, Recipient] = {}
    for person in people:
        seen.setdefault(person.key, person)
    return tuple(seen.values())
