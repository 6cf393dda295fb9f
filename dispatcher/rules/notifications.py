"""What happens to a notification (one message to one person on one channel). Pure.

The store loads the rows and what they depend on (the alarm's state, opt-outs, how many
messages each phone had in the throttle's window), asks these rules, and writes the
answer. Every decision about a notification's status is made here, once:

- the gate, when a queued row is due: send it, hold it for a summary, cancel it, or fail it;
- summaries of the held rows, when the throttle has room again;
- what a provider's status report (Twilio's) means for the row;
- what a failed attempt, or a stop in the middle of a send, leaves behind;
- whether a step of the escalation has nobody left who could come.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dispatcher.rules.throttle import Throttle


class Status(StrEnum):
    PENDING = "pending"  # queued; due at its next_attempt_at
    SENDING = "sending"  # claimed: one attempt in flight, committed before the send
    SENT = "sent"  # handed to the provider; its delivery report is to come
    DELIVERED = "delivered"  # arrived (the provider says so, or our own channel took it)
    UNANSWERED = "unanswered"  # a call nobody picked up: busy, no answer, cancelled
    DECLINED = "declined"  # the person said they cannot go
    HELD = "held"  # over the phone's throttle: waits for a summary
    SUMMARIZED = "summarized"  # went out inside a summary
    CANCELLED = "cancelled"  # no longer wanted: someone took the alarm meanwhile
    PERMANENT_FAILURE = "permanent_failure"  # can never reach the person this way


class Purpose(StrEnum):
    STEP = "step"  # an escalation step
    EXHAUSTED = "exhausted"  # the chain ran out: the supervisors
    ACK_OVERDUE = "ack_overdue"  # taken but not closed in time: the supervisors
    COMMAND = "command"  # to the terminal (help_coming, alarm_closed)
    SUMMARY = "summary"  # the held messages of one phone, in one SMS
    SERVICE = "service"  # a service request sent to a provider by an operator
    TOLD_TAKEN = "told_taken"  # a relative hears who took the emergency
    TOLD_CLOSED = "told_closed"  # and how it ended
    CHECKIN_SUMMARY = "checkin_summary"  # the morning list to the worker on shift
    OPT_OUT = "opt_out"  # the supervisors hear that a phone stopped our SMS


# what only informs: nobody is asked to answer it, so a summary of held ones names no
# reply code for it
INFORMS: frozenset[Purpose] = frozenset(
    {Purpose.TOLD_TAKEN, Purpose.TOLD_CLOSED, Purpose.CHECKIN_SUMMARY, Purpose.OPT_OUT}
)


# who is asked to act by an SMS, and so gets a link to the responder's page in it
# (docs/api.md): the community's workers, the contacts, the providers
_RESPONDERS = ("worker:", "contact:", "provider:")


def asks_to_act(purpose: Purpose, channel: str, recipient_key: str) -> bool:
    """An SMS of an escalation step or a service request to a worker, contact or
    provider: it carries a responder link."""
    return (
        channel == "sms"
        and purpose in {Purpose.STEP, Purpose.SERVICE}
        and recipient_key.startswith(_RESPONDERS)
        and "#" not in recipient_key  # a summary of held ones names many alarms
    )


# channels that reach a person's phone: throttled, and never repeated blindly after a
# stop mid-send (the message may have gone), so nobody gets it twice
PHONE_CHANNELS: frozenset[str] = frozenset({"sms", "voice"})
# what STOP stops: SMS only (Twilio blocks SMS to a number that said it, not calls)
OPT_OUT_CHANNELS: frozenset[str] = frozenset({"sms"})

# a notification in one of these will never bring anyone to the door
DEAD: frozenset[Status] = frozenset({Status.PERMANENT_FAILURE, Status.DECLINED})


def still_wanted(purpose: Purpose, alarm_open: bool, *, alarm_resolved: bool = False) -> bool:
    """An escalation step is for an alarm nobody has taken; once taken, the others
    need not be called. A provider's request is for an alarm not closed yet.
    Everything else (commands, supervisors' alerts, relatives told) still goes."""
    if purpose is Purpose.STEP:
        return alarm_open
    if purpose is Purpose.SERVICE:
        return not alarm_resolved
    return True


# --- a service request closes ---------------------------------------------------------


class AtClose(StrEnum):
    """What the close of a service request does to an SMS that sent it to a provider."""

    CANCEL = "cancel"  # not sent yet: it never goes (the close wins)
    # waiting to go again by the next route (failover): not sent again, and since its
    # first send may have reached them, they hear that the request is closed
    CANCEL_AND_TELL = "cancel_and_tell"
    TELL = "tell"  # the provider has it: they hear that the request is closed
    AT_HANDOVER = "at_handover"  # being sent now: told once its handover is recorded
    NOTHING = "nothing"  # never reached them (failed, cancelled) or they declined it


# what the provider was handed (alone, or inside a summary of held ones)
HANDED_OVER: frozenset[Status] = frozenset(
    {Status.SENT, Status.DELIVERED, Status.UNANSWERED, Status.SUMMARIZED}
)


def service_request_at_close(status: Status, *, failed_over: bool = False) -> AtClose:
    """The close of a request and the send of its SMS to a provider are ordered by the
    SMS's row (docs/daily-care.md): a row not yet claimed is cancelled by the close and
    never goes; a row claimed first is sent (its send may be in flight: nothing can call
    it back), and its provider is told the request is closed, once the SMS is handed
    over (a send that fails tells nothing: the request never reached them). So a
    provider never gets a request for a closed one without hearing that it closed.
    `failed_over`: the row was handed to a first provider before (rules.routes)."""
    if status in {Status.PENDING, Status.HELD}:
        return AtClose.CANCEL_AND_TELL if failed_over else AtClose.CANCEL
    if status is Status.SENDING:
        return AtClose.AT_HANDOVER
    if status in HANDED_OVER:
        return AtClose.TELL
    return AtClose.NOTHING


def tells_at_handover(purpose: Purpose, channel: str, *, alarm_resolved: bool) -> bool:
    """A provider's request SMS handed over after its request closed (the close found
    it being sent): its provider hears that it is closed."""
    return purpose is Purpose.SERVICE and channel == "sms" and alarm_resolved


# --- the gate -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    """A queued row whose time has come, with what the gate needs to know."""

    id: int
    purpose: Purpose
    channel: str
    phone: str | None
    alarm_open: bool
    alarm_resolved: bool = False


@dataclass(frozen=True, slots=True)
class Send:
    id: int


@dataclass(frozen=True, slots=True)
class Hold:
    """Over the phone's throttle: kept for the summary."""

    id: int


@dataclass(frozen=True, slots=True)
class Cancel:
    id: int


@dataclass(frozen=True, slots=True)
class Fail:
    id: int
    reason: str


Gate = Send | Hold | Cancel | Fail


def gate(
    due: Sequence[Due],
    *,
    opted_out: Collection[str],
    sent_in_window: Mapping[str, int],
    throttle: Throttle | None,
) -> list[Gate]:
    """Decide for a batch of due rows, in order. `sent_in_window`: messages each phone
    had in the throttle's window before this batch; the batch's own sends count too."""
    sent = dict(sent_in_window)
    decisions: list[Gate] = []
    for row in due:
        if not still_wanted(row.purpose, row.alarm_open, alarm_resolved=row.alarm_resolved):
            decisions.append(Cancel(row.id))
            continue
        if row.channel in PHONE_CHANNELS and row.phone:
            if row.channel in OPT_OUT_CHANNELS and row.phone in opted_out:
                decisions.append(Fail(row.id, "the recipient replied STOP"))
                continue
            count = sent.get(row.phone, 0)
            if (
                throttle is not None
                and row.purpose is not Purpose.SUMMARY
                and not throttle.may_send(count)
            ):
                decisions.append(Hold(row.id))
                continue
            sent[row.phone] = count + 1
        decisions.append(Send(row.id))
    return decisions


# --- summaries of held rows ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Held:
    id: int
    purpose: Purpose
    phone: str | None
    alarm_id: int | None
    alarm_open: bool
    held_at: datetime
    about: str  # whom the alarm is about, as the summary names it
    alarm_resolved: bool = False


@dataclass(frozen=True, slots=True)
class Summary:
    """One SMS to `phone` naming every alarm of its held rows; `first` gives it its
    recipient and language."""

    phone: str
    first: int
    held: tuple[int, ...]
    # (alarm id, whom it is about), by alarm id: the ones asking for an answer
    alarms: tuple[tuple[int, str], ...]
    # whom the held messages that only inform were about (relatives told, summaries)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Summaries:
    cancel: tuple[int, ...]
    send: tuple[Summary, ...]


def summarise(
    held: Sequence[Held],
    *,
    sent_in_window: Mapping[str, int],
    throttle: Throttle,
    now: datetime,
) -> Summaries:
    """Rows no longer wanted are cancelled; each phone whose held rows have gathered
    long enough, and whose window has room, gets one summary of them."""
    cancel: list[int] = []
    by_phone: dict[str, list[Held]] = defaultdict(list)
    for row in held:
        if not still_wanted(row.purpose, row.alarm_open, alarm_resolved=row.alarm_resolved):
            cancel.append(row.id)
        elif row.phone:
            by_phone[row.phone].append(row)
    send: list[Summary] = []
    for phone, rows in by_phone.items():
        first_held_at = min(r.held_at for r in rows)
        if not throttle.may_summarise(sent_in_window.get(phone, 0), first_held_at, now):
            continue
        alarms: dict[int, str] = {}
        notes: dict[str, None] = {}
        for r in rows:
            if r.purpose in INFORMS or r.alarm_id is None:
                notes.setdefault(r.about)
            else:
                alarms.setdefault(r.alarm_id, r.about)
        send.append(
            Summary(
                phone=phone,
                first=rows[0].id,
                held=tuple(r.id for r in rows),
                alarms=tuple(sorted(alarms.items())),
                notes=tuple(notes),
            )
        )
    return Summaries(tuple(cancel), tuple(send))


# --- after a send ----------------------------------------------------------------------


def after_handover(channel: str) -> Status:
    """A channel took the message: a phone's delivery report is still to come; our own
    channels (dashboard, terminal) have delivered it."""
    return Status.SENT if channel in PHONE_CHANNELS else Status.DELIVERED


def backoff_s(attempts: int) -> float:
    """2, 4, 8 ... seconds after the attempts made so far, at most a minute."""
    return float(min(2**attempts, 60))


def retry_at(
    attempts: int, max_attempts: int, now: datetime, *, in_doubt_s: float | None = None
) -> datetime | None:
    """When to try again after a temporary failure; None when it has failed for good.
    A send in doubt (`in_doubt_s`: the provider did not answer, and may have sent it)
    waits at least that long, for the provider's report that would make it needless."""
    if attempts >= max_attempts:
        return None
    wait = backoff_s(attempts)
    if in_doubt_s is not None:
        wait = max(wait, in_doubt_s)
    return now + timedelta(seconds=wait)


def confirmed_by_report(status: Status, *, doubted: bool) -> bool:
    """A provider's report of a message waiting to go again because its send was in
    doubt: the provider had taken it, so it is sent, not sent again."""
    return doubted and status is Status.PENDING


def interrupted(
    claimed_by: str | None,
    claimed_at: datetime | None,
    *,
    me: str,
    now: datetime,
    stale_after_s: float,
    starting: bool,
) -> bool:
    """Whether a row left `sending` was interrupted: claimed by this process before it
    (re)started, or by anyone so long ago that no send can still be in flight (its
    process stopped and has not come back). Another process's recent claim is a send in
    flight there, not ours to touch. A row claimed before claims were signed counts as
    our own."""
    if starting and (claimed_by is None or claimed_by == me):
        return True
    return claimed_at is None or (now - claimed_at).total_seconds() >= stale_after_s


def after_interruption(channel: str) -> Status:
    """A row found `sending` at start: the process stopped mid-send. An SMS or a call
    may have gone out, so it is failed (the escalation moves on) rather than repeated;
    our own channels simply go again."""
    return Status.PERMANENT_FAILURE if channel in PHONE_CHANNELS else Status.PENDING


# --- the provider's status reports -----------------------------------------------------

# reports can arrive out of order: a status never replaces a later one
_SMS_RANK = {"accepted": 0, "queued": 0, "sending": 1, "sent": 2}
_SMS_FINAL = {"delivered": 3, "undelivered": 3, "failed": 3, "read": 4}
_CALL_RANK = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3, "answered": 3}
_CALL_FINAL = {"completed": 4, "busy": 4, "no-answer": 4, "failed": 4, "canceled": 4}
_FAILED = frozenset({"failed", "undelivered"})
_ARRIVED = frozenset({"delivered", "completed"})
_NOBODY_ANSWERED = frozenset({"busy", "no-answer", "canceled"})


def status_rank(channel: str, status: str) -> int | None:
    ranks = {**_SMS_RANK, **_SMS_FINAL} if channel == "sms" else {**_CALL_RANK, **_CALL_FINAL}
    return ranks.get(status)


@dataclass(frozen=True, slots=True)
class ProviderReport:
    """What a provider's status report does to the row."""

    provider_status: str
    status: Status | None  # the row's new status, when it changes
    failed: bool  # failed for good: the escalation may have to move on
    final: bool  # the last word on this message: worth a line in the timeline


def provider_report(channel: str, current: str | None, reported: str) -> ProviderReport | None:
    """None for a report older than what we know, or of a status we do not track."""
    rank = status_rank(channel, reported)
    known = status_rank(channel, current) if current else -1
    if rank is None or known is None or rank <= known:
        return None
    status: Status | None = None
    if reported in _FAILED:
        status = Status.PERMANENT_FAILURE
    elif reported in _ARRIVED:
        status = Status.DELIVERED
    elif reported in _NOBODY_ANSWERED:
        status = Status.UNANSWERED
    final = reported in _SMS_FINAL or reported in _CALL_FINAL
    return ProviderReport(reported, status, reported in _FAILED, final)


# --- a step with nobody left -----------------------------------------------------------


def step_ended(
    *,
    purpose: Purpose,
    alarm_open: bool,
    alarm_position: tuple[int, int],
    position: tuple[int, int],
    statuses: Iterable[Status],
) -> bool:
    """Every notification of the alarm's current step (step, round) has failed for
    good or been declined: nobody of this step can come, so its wait is pointless."""
    if purpose is not Purpose.STEP or not alarm_open or alarm_position != position:
        return False
    return all(s in DEAD for s in statuses)
