"""The responder page's rules (docs/api.md): when a link works, who reads medical notes,
which buttons show, the rate limit, and the link at the end of an SMS that fits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.rules import responder as rules
from dispatcher.rules.messages import sms_segments, with_link
from dispatcher.rules.notifications import Purpose, asks_to_act
from dispatcher.rules.responder import Button

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
URL = "https://dispatch.example.gov.cn/r/" + "A" * 22


@pytest.mark.parametrize("status", ["open", "acknowledged"])
def test_a_link_works_while_the_alarm_is_not_closed(status: str) -> None:
    assert rules.works(status=status, resolved_at=None, now=NOW)


def test_a_link_works_until_a_day_after_the_close() -> None:
    closed = NOW - timedelta(hours=24)
    assert rules.works(status="resolved", resolved_at=closed + timedelta(seconds=1), now=NOW)
    assert not rules.works(status="resolved", resolved_at=closed, now=NOW)
    assert not rules.works(status="resolved", resolved_at=None, now=NOW)


@pytest.mark.parametrize(
    ("key", "worker_community", "status", "reads"),
    [
        ("worker:w-zhang", "kangqiao", "open", True),
        ("worker:w-zhang", "kangqiao", "acknowledged", True),
        ("worker:w-zhang", "kangqiao", "resolved", False),  # closed: no longer needed
        ("worker:w-li", "yuhua", "open", False),  # another community's worker
        ("worker:w-gone", None, "open", False),  # a worker since removed
        ("contact:3", None, "open", False),  # relatives never, by link
        ("provider:p-kq-meal", None, "open", False),
    ],
)
def test_medical_notes_only_for_the_communitys_workers_while_open(
    key: str, worker_community: str | None, status: str, reads: bool
) -> None:
    assert (
        rules.reads_medical(
            recipient_key=key,
            worker_community=worker_community,
            alarm_community="kangqiao",
            status=status,
        )
        is reads
    )


@pytest.mark.parametrize(
    ("provider", "status", "arrived", "shown"),
    [
        (False, "open", False, (Button.TAKE, Button.DECLINE, Button.ARRIVED)),
        (False, "acknowledged", False, (Button.ARRIVED,)),
        (False, "acknowledged", True, ()),
        (False, "resolved", False, ()),
        (True, "open", False, (Button.TAKE, Button.DECLINE, Button.ARRIVED, Button.DONE)),
        (True, "acknowledged", True, (Button.DONE,)),
        (True, "resolved", True, ()),
    ],
)
def test_the_buttons_left(provider: bool, status: str, arrived: bool, shown: tuple[Button]) -> None:
    assert rules.buttons(provider=provider, status=status, arrived=arrived) == shown


def test_each_button_is_its_reply_code() -> None:
    assert {b.value: rules.CODE[b] for b in Button} == {
        "take": "1",
        "decline": "2",
        "arrived": "3",
        "done": "4",
    }


def test_the_limiter_counts_per_key_within_its_window() -> None:
    limiter = rules.Limiter(limit=3, window=timedelta(minutes=10))
    assert [limiter.allow("a", NOW) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", NOW)  # another key is not held up
    assert not limiter.allow("a", NOW + timedelta(minutes=9, seconds=59))
    assert limiter.allow("a", NOW + timedelta(minutes=10))


@pytest.mark.parametrize(
    ("purpose", "channel", "key", "link"),
    [
        (Purpose.STEP, "sms", "worker:w-zhang", True),
        (Purpose.STEP, "sms", "contact:12", True),
        (Purpose.SERVICE, "sms", "provider:p-kq-meal", True),
        (Purpose.STEP, "voice", "worker:w-zhang", False),  # a call has no link
        (Purpose.STEP, "sms", "supervisor:sup1", False),
        (Purpose.EXHAUSTED, "sms", "supervisor:sup1", False),
        (Purpose.TOLD_TAKEN, "sms", "contact:12", False),  # only informs
        (Purpose.STEP, "sms", "worker:w-zhang#summary4", False),  # many alarms in one
    ],
)
def test_which_sms_carry_a_link(purpose: Purpose, channel: str, key: str, link: bool) -> None:
    assert asks_to_act(purpose, channel, key) is link


LONG_ZH = "【一键通】紧急：王秀英（天桥区纬北路12号3单元201）按下紧急呼叫。" * 4


@pytest.mark.parametrize("segments", [1, 2, 3])
@pytest.mark.parametrize("text", ["SOS: Wang, 12 Weibei Rd. Reply 1 to go.", LONG_ZH])
def test_the_link_ends_the_sms_whole_within_the_budget(text: str, segments: int) -> None:
    sms = with_link(text, URL, segments)
    assert sms.endswith(" " + URL)
    assert sms_segments(sms) <= segments
    assert sms.startswith(text[:10])


def test_a_short_sms_keeps_all_its_words() -> None:
    assert with_link("紧急：王秀英", URL, 2) == f"紧急：王秀英 {URL}"


def test_a_budget_too_small_for_the_link_keeps_the_words() -> None:
    long_url = "https://x.example/r/" + "字" * 80  # not GSM-7, over one segment alone
    assert with_link("紧急", long_url, 1) == "紧急"
