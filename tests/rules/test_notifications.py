"""The rules of a notification's life: the gate, summaries, provider reports, retries,
stops mid-send, and a step with nobody left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from dispatcher.rules.notifications import (
    DEAD,
    AtClose,
    Cancel,
    Due,
    Fail,
    Held,
    Hold,
    Purpose,
    Send,
    Status,
    after_handover,
    after_interruption,
    confirmed_by_report,
    gate,
    interrupted,
    provider_report,
    retry_at,
    service_request_at_close,
    step_ended,
    still_wanted,
    summarise,
    tells_at_handover,
)
from dispatcher.rules.throttle import Throttle

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
DAUGHTER = "+8613900000001"
WORKER = "+8613800000001"
THROTTLE = Throttle(limit=3, window_s=300, gather_s=30)


def due(
    ident: int,
    purpose: Purpose = Purpose.STEP,
    channel: str = "sms",
    *,
    phone: str | None = DAUGHTER,
    alarm_open: bool = True,
) -> Due:
    return Due(ident, purpose, channel, phone, alarm_open)


@pytest.mark.parametrize(("purpose", "alarm_open"), list(product(Purpose, [True, False])))
def test_only_steps_of_a_taken_alarm_are_no_longer_wanted(
    purpose: Purpose, alarm_open: bool
) -> None:
    assert still_wanted(purpose, alarm_open) is (alarm_open or purpose is not Purpose.STEP)


def test_gate_sends_what_is_wanted_and_cancels_steps_of_taken_alarms() -> None:
    decisions = gate(
        [
            due(1),
            due(2, alarm_open=False),
            due(3, Purpose.COMMAND, "terminal", phone=None, alarm_open=False),
            due(4, Purpose.EXHAUSTED, alarm_open=False),
            due(5, Purpose.STEP, "dashboard", phone=None),
        ],
        opted_out=set(),
        sent_in_window={},
        throttle=None,
    )
    assert decisions == [Send(1), Cancel(2), Send(3), Send(4), Send(5)]


def test_stop_fails_sms_to_that_phone_and_calls_still_go() -> None:
    decisions = gate(
        [due(1), due(2, phone=WORKER), due(3, channel="voice")],
        opted_out={DAUGHTER},
        sent_in_window={},
        throttle=None,
    )
    assert decisions == [Fail(1, "the recipient replied STOP"), Send(2), Send(3)]


def test_a_providers_request_goes_until_the_alarm_is_closed() -> None:
    assert still_wanted(Purpose.SERVICE, alarm_open=False)
    assert not still_wanted(Purpose.SERVICE, alarm_open=False, alarm_resolved=True)
    decisions = gate(
        [
            Due(1, Purpose.SERVICE, "sms", WORKER, alarm_open=False),
            Due(2, Purpose.SERVICE, "sms", WORKER, alarm_open=False, alarm_resolved=True),
            Due(3, Purpose.TOLD_CLOSED, "sms", DAUGHTER, alarm_open=False, alarm_resolved=True),
        ],
        opted_out=set(),
        sent_in_window={},
        throttle=None,
    )
    assert decisions == [Send(1), Cancel(2), Send(3)]


def test_a_close_cancels_a_request_not_sent_yet_and_tells_a_provider_who_has_it() -> None:
    at_close = {status: service_request_at_close(status) for status in Status}
    assert at_close == {
        Status.PENDING: AtClose.CANCEL,  # the close wins: it never goes
        Status.HELD: AtClose.CANCEL,
        Status.SENDING: AtClose.AT_HANDOVER,  # the send wins: told once handed over
        Status.SENT: AtClose.TELL,
        Status.DELIVERED: AtClose.TELL,
        Status.UNANSWERED: AtClose.TELL,
        Status.SUMMARIZED: AtClose.TELL,  # named in a summary of held ones
        Status.DECLINED: AtClose.NOTHING,  # they said they cannot: nothing to call off
        Status.CANCELLED: AtClose.NOTHING,
        Status.PERMANENT_FAILURE: AtClose.NOTHING,  # it never reached them
    }
    # going again by the next route: not again, but the first send may have reached them
    assert service_request_at_close(Status.PENDING, failed_over=True) is AtClose.CANCEL_AND_TELL
    assert service_request_at_close(Status.SENDING, failed_over=True) is AtClose.AT_HANDOVER
    assert tells_at_handover(Purpose.SERVICE, "sms", alarm_resolved=True)
    assert not tells_at_handover(Purpose.SERVICE, "sms", alarm_resolved=False)
    # a step of the escalation to a provider is cancelled once taken: not a request sent
    assert not tells_at_handover(Purpose.STEP, "sms", alarm_resolved=True)
    assert not tells_at_handover(Purpose.TOLD_CLOSED, "sms", alarm_resolved=True)


def test_gate_holds_past_the_throttle_counting_its_own_sends_and_keeps_room_for_a_summary() -> None:
    # limit 3 keeps the last place for the summary: two ordinary messages per window
    decisions = gate(
        [due(1), due(2, channel="voice"), due(3), due(4, phone=WORKER), due(5, Purpose.SUMMARY)],
        opted_out=set(),
        sent_in_window={WORKER: 1},
        throttle=THROTTLE,
    )
    assert decisions == [Send(1), Send(2), Hold(3), Send(4), Send(5)]
    already_full = gate([due(1)], opted_out=set(), sent_in_window={DAUGHTER: 2}, throttle=THROTTLE)
    assert already_full == [Hold(1)]


def test_gate_without_a_throttle_never_holds() -> None:
    rows = [due(i) for i in range(1, 20)]
    assert gate(rows, opted_out=set(), sent_in_window={DAUGHTER: 99}, throttle=None) == [
        Send(i) for i in range(1, 20)
    ]


def held(
    ident: int,
    alarm_id: int,
    *,
    ago_s: float,
    purpose: Purpose = Purpose.STEP,
    alarm_open: bool = True,
) -> Held:
    return Held(
        id=ident,
        purpose=purpose,
        phone=DAUGHTER,
        alarm_id=alarm_id,
        alarm_open=alarm_open,
        held_at=NOW - timedelta(seconds=ago_s),
        about=f"resident of {alarm_id}",
    )


def test_summary_waits_for_the_storm_to_gather_then_names_each_alarm_once() -> None:
    storm = [held(10, 7, ago_s=31), held(11, 7, ago_s=20), held(12, 3, ago_s=5)]
    decided = summarise(storm, sent_in_window={DAUGHTER: 2}, throttle=THROTTLE, now=NOW)
    assert decided.cancel == ()
    (summary,) = decided.send
    assert summary.phone == DAUGHTER
    assert summary.first == 10
    assert summary.held == (10, 11, 12)
    assert summary.alarms == ((3, "resident of 3"), (7, "resident of 7"))
    too_soon = summarise([held(10, 7, ago_s=29)], sent_in_window={}, throttle=THROTTLE, now=NOW)
    assert too_soon.send == ()


def test_summary_needs_room_in_the_window_and_cancels_steps_of_taken_alarms() -> None:
    rows = [held(10, 7, ago_s=60), held(11, 8, ago_s=60, alarm_open=False)]
    full = summarise(rows, sent_in_window={DAUGHTER: 3}, throttle=THROTTLE, now=NOW)
    assert full.cancel == (11,)
    assert full.send == ()
    supervisors = summarise(
        [held(12, 8, ago_s=60, alarm_open=False, purpose=Purpose.EXHAUSTED)],
        sent_in_window={},
        throttle=THROTTLE,
        now=NOW,
    )
    assert supervisors.cancel == ()
    assert [s.held for s in supervisors.send] == [(12,)]


@pytest.mark.parametrize(
    ("channel", "status"),
    [
        ("sms", Status.SENT),
        ("voice", Status.SENT),
        ("dashboard", Status.DELIVERED),
        ("terminal", Status.DELIVERED),
    ],
)
def test_after_handover(channel: str, status: Status) -> None:
    assert after_handover(channel) is status


def test_retries_back_off_then_give_up() -> None:
    waits = [(retry_at(n, 8, NOW) or NOW) - NOW for n in range(1, 8)]
    assert [w.total_seconds() for w in waits] == [2, 4, 8, 16, 32, 60, 60]
    assert retry_at(8, 8, NOW) is None
    assert retry_at(9, 8, NOW) is None


def test_a_send_in_doubt_waits_for_its_report_at_least_in_doubt_s() -> None:
    waits = [(retry_at(n, 8, NOW, in_doubt_s=30) or NOW) - NOW for n in range(1, 8)]
    assert [w.total_seconds() for w in waits] == [30, 30, 30, 30, 32, 60, 60]
    assert retry_at(8, 8, NOW, in_doubt_s=30) is None  # given up, doubt or not


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("doubted", [True, False])
def test_only_a_report_of_a_send_in_doubt_makes_it_sent(status: Status, doubted: bool) -> None:
    # pending and in doubt: the provider had it. Pending otherwise was never handed over
    # (a refusal): a report can only be stale; any other status is past handing over
    assert confirmed_by_report(status, doubted=doubted) is (doubted and status is Status.PENDING)


@pytest.mark.parametrize(
    ("channel", "status"),
    [
        ("sms", Status.PERMANENT_FAILURE),
        ("voice", Status.PERMANENT_FAILURE),
        ("terminal", Status.PENDING),
        ("dashboard", Status.PENDING),
    ],
)
def test_a_stop_mid_send_never_repeats_a_phone_message(channel: str, status: Status) -> None:
    assert after_interruption(channel) is status


SMS_ORDER = ["queued", "sending", "sent", "delivered"]


def test_provider_reports_out_of_order_never_go_back() -> None:
    current: str | None = None
    for status in SMS_ORDER:
        report = provider_report("sms", current, status)
        assert report is not None
        current = report.provider_status
    assert current == "delivered"
    for late in SMS_ORDER:
        assert provider_report("sms", "delivered", late) is None
    assert provider_report("sms", None, "no-such-status") is None


@pytest.mark.parametrize(
    ("channel", "reported", "status", "failed", "final"),
    [
        ("sms", "sent", None, False, False),
        ("sms", "delivered", Status.DELIVERED, False, True),
        ("sms", "undelivered", Status.PERMANENT_FAILURE, True, True),
        ("sms", "failed", Status.PERMANENT_FAILURE, True, True),
        ("voice", "ringing", None, False, False),
        ("voice", "completed", Status.DELIVERED, False, True),
        ("voice", "busy", Status.UNANSWERED, False, True),
        ("voice", "no-answer", Status.UNANSWERED, False, True),
        ("voice", "canceled", Status.UNANSWERED, False, True),
        ("voice", "failed", Status.PERMANENT_FAILURE, True, True),
    ],
)
def test_what_a_provider_report_means(
    channel: str, reported: str, status: Status | None, failed: bool, final: bool
) -> None:
    report = provider_report(channel, None, reported)
    assert report is not None
    assert (report.status, report.failed, report.final) == (status, failed, final)


@pytest.mark.parametrize("statuses", list(product(list(Status), repeat=2)))
def test_a_step_ends_when_everyone_of_it_failed_or_declined(
    statuses: tuple[Status, Status],
) -> None:
    ended = step_ended(
        purpose=Purpose.STEP,
        alarm_open=True,
        alarm_position=(1, 0),
        position=(1, 0),
        statuses=statuses,
    )
    assert ended is all(s in DEAD for s in statuses)


@pytest.mark.parametrize(
    ("purpose", "alarm_open", "position", "ended"),
    [
        (Purpose.STEP, True, (2, 0), True),
        (Purpose.EXHAUSTED, True, (2, 0), False),  # a supervisors' alert is not a step
        (Purpose.STEP, False, (2, 0), False),  # taken meanwhile
        (Purpose.STEP, True, (1, 0), False),  # an earlier step: the escalation is past it
        (Purpose.STEP, True, (2, 1), False),  # the same step of another round
    ],
)
def test_only_the_current_step_of_an_open_alarm_ends(
    purpose: Purpose, alarm_open: bool, position: tuple[int, int], ended: bool
) -> None:
    dead = [Status.PERMANENT_FAILURE, Status.DECLINED]
    assert (
        step_ended(
            purpose=purpose,
            alarm_open=alarm_open,
            alarm_position=(2, 0),
            position=position,
            statuses=dead,
        )
        is ended
    )


def test_a_summary_names_apart_what_only_informs() -> None:
    held = [
        Held(1, Purpose.STEP, DAUGHTER, 23, True, NOW, "王秀英"),
        Held(2, Purpose.TOLD_CLOSED, DAUGHTER, 24, False, NOW, "李桂兰", alarm_resolved=True),
        Held(3, Purpose.CHECKIN_SUMMARY, DAUGHTER, None, False, NOW, "康桥社区"),
    ]
    later = NOW + timedelta(seconds=THROTTLE.gather_s)
    [summary] = summarise(held, sent_in_window={}, throttle=THROTTLE, now=later).send
    assert summary.held == (1, 2, 3)
    assert summary.alarms == ((23, "王秀英"),)
    assert summary.notes == ("李桂兰", "康桥社区")


def test_interrupted_sends_are_one_s_own_at_start_or_stale() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

    def check(by: str | None, ago_s: float | None, *, starting: bool) -> bool:
        at = None if ago_s is None else now - timedelta(seconds=ago_s)
        return interrupted(by, at, me="p1", now=now, stale_after_s=600, starting=starting)

    # at start: our own claims, recent or not, and unsigned ones from before claims
    assert check("p1", 1, starting=True)
    assert check(None, None, starting=True)
    # another's recent claim is a send in flight there, at start or later
    assert not check("p2", 1, starting=True)
    assert not check("p2", 599, starting=False)
    # once stale, anyone's; our own recent ones are in flight after the start
    assert check("p2", 600, starting=False)
    assert check("p1", 600, starting=False)
    assert not check("p1", 1, starting=False)
