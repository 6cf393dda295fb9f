"""An emergency in a city whose +86 phones go by Alibaba Cloud and the rest by Twilio,
both stand-ins over real HTTP: reports and replies come back by the push endpoints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from dispatcher.app import Service
from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.store.models import Alarm, Contact, EventLog, Notification
from harness.city import SmallCity, seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.ports import free_port
from harness.service import first_step_fired, running
from simulators.aliyun.standin import TEST_KEY_ID, TEST_KEY_SECRET, AliyunStandIn
from simulators.twilio.standin import TwilioStandIn
from tests.notify.conftest import AT_3AM, NIGHT_WORKER, contact_phone

MOSQUITTO = ("127.0.0.1", 1883)
ABROAD = "+447700900123"
TOKEN = "push-token-for-tests"


@dataclass
class TwoProviders:
    service: Service
    aliyun: AliyunStandIn
    twilio: TwilioStandIn
    clock: ManualClock
    city: SmallCity
    push: str


def _templates(public_url: str) -> list[dict[str, Any]]:
    """As registered: the links' templates carry the service's public address."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "dispatcher.cli",
            "templates",
            "--format",
            "json",
            "--public-url",
            public_url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


@pytest.fixture
async def two(
    phone_settings: Callable[..., tuple[Settings, int]],
) -> AsyncIterator[TwoProviders]:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    async with (
        TwilioStandIn(step_s=0.005) as twilio,
        AliyunStandIn(
            _templates(public_url), sign_name="一键通", step_s=0.005, retry_s=0.05
        ) as aliyun,
    ):
        settings, port = phone_settings(
            twilio,
            port=port,
            notifications={
                "routes": [
                    {"prefix": "+86", "provider": "aliyun"},
                    {"prefix": "", "provider": "twilio"},
                ],
                "failover_s": 120,
                "aliyun": {
                    "endpoint": aliyun.base_url,
                    "voice_endpoint": aliyun.base_url,
                    "access_key_id": TEST_KEY_ID,
                    "access_key_secret": TEST_KEY_SECRET,
                    "sign_name": "一键通",
                    "called_show_number": "053188880000",
                    "templates": aliyun.codes,
                    "callback_token": TOKEN,
                    "timeout_s": 5.0,  # the stand-in answers at once; a busy machine: seconds
                },
            },
        )
        push = f"http://127.0.0.1:{port}/aliyun/{TOKEN}"
        aliyun.push_base = push
        twilio.sms_url = f"http://127.0.0.1:{port}/twilio/sms"
        clock = ManualClock(AT_3AM)
        async with running(settings, clock=clock, http=True) as service:
            city = await seed_city(service.sessions)
            yield TwoProviders(service, aliyun, twilio, clock, city, push)


def twilio_to(two: TwoProviders, what: str) -> list[str]:
    return [r.get("To") or "" for r in two.twilio.requests if r.path.endswith(f"/{what}.json")]


async def timeline(two: TwoProviders, alarm_id: int) -> list[EventLog]:
    async with two.service.sessions() as session:
        rows = await session.scalars(
            select(EventLog).where(EventLog.alarm_id == alarm_id).order_by(EventLog.id)
        )
        return list(rows)


async def press(two: TwoProviders, event_id: str) -> int:
    async with raw_peer(MOSQUITTO, two.service.settings.mqtt.topic_prefix) as peer:
        await peer.publish(two.city.terminals[0], "event", event(event_id))
        assert (await peer.next_ack())[1]["result"] == "accepted"

    async def opened() -> int | None:
        async with two.service.sessions() as session:
            return await session.scalar(select(Alarm.id).where(Alarm.status == "open"))

    found = await wait_for(opened)
    assert isinstance(found, int)
    await wait_for(lambda: first_step_fired(two.service, found))
    return found


async def status_of(two: TwoProviders, alarm_id: int) -> str:
    async with two.service.sessions() as session:
        return (await session.get_one(Alarm, alarm_id)).status


async def abroad_in_english(two: TwoProviders) -> None:
    """Contact 2 of the first resident lives abroad and reads English."""
    async with two.service.sessions.begin() as session:
        await session.execute(
            update(Contact)
            .where(Contact.resident_id == two.city.residents[0], Contact.priority == 2)
            .values(phone=ABROAD, language="en")
        )


async def test_the_whole_story_by_alibaba_cloud_and_twilio(two: TwoProviders) -> None:
    contact1 = contact_phone(1, 1)
    await abroad_in_english(two)
    two.aliyun.person(NIGHT_WORKER).replies.append("2")  # texts back: cannot go
    two.aliyun.person(contact1).answers = False  # first call: nobody picks up
    alarm_id = await press(two, "sos-aliyun-1")

    two.clock.advance(60)  # the night worker: Alibaba Cloud SMS and call; she declines by SMS
    await two.aliyun.wait_for(lambda: any(s["phone"] == NIGHT_WORKER[3:] for s in two.aliyun.sms))
    sms = next(s for s in two.aliyun.sms if s["phone"] == NIGHT_WORKER[3:])
    assert sms["code_name"] == "sms_step_emergency_link"
    assert sms["text"].startswith("【一键通】紧急")
    assert f"“2 {alarm_id}”" in sms["text"]
    # it ends with her responder link: the address is the template's, the token the variable
    token = sms["params"]["link"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token), token
    public_url = two.service.settings.notifications.public_url
    assert sms["text"].endswith(f"。 {public_url}/r/{token}"), sms["text"]
    async with aiohttp.ClientSession(public_url) as http, http.get(f"/r/{token}") as page:
        assert page.status == 200
        shown = await page.text()
    assert "居民1" in shown
    assert f"/r/{token}/take" in shown  # her buttons act on this alarm
    # her decline ends the step: contact 1 is called at once, by Alibaba Cloud
    await two.aliyun.wait_for(lambda: any(c["phone"] == contact1[3:] for c in two.aliyun.calls), 10)
    await two.aliyun.wait_for(
        lambda: any(
            k == "voice-report" and i[0].get("status_code") == "200003"
            for k, i, _ in two.aliyun.pushes
        )
    )
    assert twilio_to(two, "Messages") == twilio_to(two, "Calls") == []

    two.aliyun.person(contact1).answers = True
    two.aliyun.person(contact1).presses = "1"
    two.clock.advance(120)  # everyone: contact 1 again (presses 1), the +44 contact by Twilio
    await wait_for(lambda: _is(two, alarm_id, "acknowledged"), within=15)
    async with two.service.sessions() as session:
        taken = await session.get_one(Alarm, alarm_id)
    assert taken.acknowledged_by == "李娜"
    await wait_for(
        lambda: ABROAD in twilio_to(two, "Messages") or ABROAD in twilio_to(two, "Calls")
    )
    assert all(
        not p.startswith("+86") for p in twilio_to(two, "Messages") + twilio_to(two, "Calls")
    )
    assert two.aliyun.lost == []  # every push answered (a 500 is pushed again, as Alibaba does)
    assert two.aliyun.refused == []  # every variable as Alibaba Cloud takes it

    # the timeline, in order: the step, her SMS and call handed to Alibaba Cloud and
    # reported on by push, her decline by SMS, contact 1's unanswered call, the
    # last step, and the key press that took it
    lines = await timeline(two, alarm_id)
    order = [e.kind for e in lines]
    assert "alarm_opened" in order[:2]
    declined = next(e for e in lines if e.kind == "declined")
    ack = next(e for e in lines if e.kind == "ack")
    assert (declined.data or {}).get("via") == "sms"
    assert ack.actor == "李娜"
    assert (ack.data or {}).get("via") == "voice"

    def line(kind: str, recipient: str, **data: str) -> EventLog:
        found = [
            e
            for e in lines
            if e.kind == kind
            and (e.data or {}).get("recipient") == recipient
            and all((e.data or {}).get(k) == v for k, v in data.items())
        ]
        assert found, (kind, recipient, data, order)
        return found[0]

    worker_sent = line("notification_sent", "刘军", channel="sms")
    worker_delivered = line("notification_status", "刘军", channel="sms", status="delivered")
    # (a push may beat our own record of the handover, written after the send returns)
    assert worker_sent in lines
    assert lines.index(worker_delivered) < lines.index(declined), order
    assert order.count("declined") == 1, order
    assert lines.index(declined) < lines.index(ack), order
    unanswered = line("notification_status", "李娜", channel="voice", status="no-answer")
    assert lines.index(declined) < lines.index(unanswered) < lines.index(ack), order
    reported = [e for e in lines if e.kind == "notification_status"]
    assert {e.actor for e in reported if (e.data or {})["recipient"] != "赵强"} == {"aliyun"}
    # her reply is answered by an SMS of its own, by template
    await two.aliyun.wait_for(
        lambda: any(s["code_name"] == "reply_declined" for s in two.aliyun.sms)
    )
    answer = next(s for s in two.aliyun.sms if s["code_name"] == "reply_declined")
    assert answer["phone"] == NIGHT_WORKER[3:]


async def _is(two: TwoProviders, alarm_id: int, status: str) -> bool:
    return await status_of(two, alarm_id) == status


async def _rows(two: TwoProviders, phone: str) -> list[Notification]:
    async with two.service.sessions() as session:
        return list(await session.scalars(select(Notification).where(Notification.phone == phone)))


async def test_alibaba_cloud_refuses_and_the_message_goes_by_twilio_once(two: TwoProviders) -> None:
    two.aliyun.person(NIGHT_WORKER).fails = "isv.BUSINESS_LIMIT_CONTROL"
    alarm_id = await press(two, "sos-aliyun-2")
    two.clock.advance(60)
    await wait_for(
        lambda: (
            NIGHT_WORKER in twilio_to(two, "Messages") and NIGHT_WORKER in twilio_to(two, "Calls")
        )
    )
    await two.twilio.settle()
    assert twilio_to(two, "Messages").count(NIGHT_WORKER) == 1
    assert twilio_to(two, "Calls").count(NIGHT_WORKER) == 1
    assert [r.code for r in two.aliyun.refused] == ["isv.BUSINESS_LIMIT_CONTROL"] * 2
    moves = [e for e in await timeline(two, alarm_id) if e.kind == "notification_failover"]
    assert {(e.data or {}).get("channel") for e in moves} == {"sms", "voice"}
    assert all(
        (e.data or {})["from"] == "aliyun" and (e.data or {})["to"] == "twilio" for e in moves
    )
    assert all("isv.BUSINESS_LIMIT_CONTROL" in (e.data or {})["detail"] for e in moves)


async def test_alibaba_cloud_never_reports_and_the_late_report_changes_nothing(
    two: TwoProviders,
) -> None:
    two.aliyun.person(NIGHT_WORKER).silent = True
    alarm_id = await press(two, "sos-aliyun-3")
    two.clock.advance(60)
    await two.aliyun.wait_for(
        lambda: len([s for s in two.aliyun.sms if s["phone"] == NIGHT_WORKER[3:]]) == 1
    )
    await wait_for(lambda: _all_sent(two, NIGHT_WORKER))
    two.clock.advance(119)  # not a second early
    two.service.notifier.wake()
    await two.service.notifier.run_once()
    assert twilio_to(two, "Messages") == []
    two.clock.advance(1)
    two.service.notifier.wake()
    await wait_for(
        lambda: (
            NIGHT_WORKER in twilio_to(two, "Messages") and NIGHT_WORKER in twilio_to(two, "Calls")
        )
    )
    await two.twilio.settle()
    rows = await _rows(two, NIGHT_WORKER)
    assert {n.failover for n in rows} == {"aliyun>twilio"}

    # the late reports of Alibaba Cloud arrive (twice, as a retried push does)
    sms = next(s for s in two.aliyun.sms if s["phone"] == NIGHT_WORKER[3:])
    late = [
        {
            "phone_number": sms["phone"],
            "success": False,
            "err_code": "MK:0001",
            "biz_id": sms["biz_id"],
            "out_id": sms["out_id"],
        }
    ]
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            async with http.post(f"{two.push}/sms-report", json=late) as response:
                assert response.status == 200
                assert (await response.json())["code"] == 0
        async with http.post(
            f"{two.push.replace(TOKEN, 'wrong')}/sms-report", json=late
        ) as response:
            assert response.status == 404
    two.service.notifier.wake()
    await two.service.notifier.run_once()
    assert twilio_to(two, "Messages").count(NIGHT_WORKER) == 1
    assert twilio_to(two, "Calls").count(NIGHT_WORKER) == 1
    after = await _rows(two, NIGHT_WORKER)
    assert all(n.status != "permanent_failure" for n in after)
    moves = [e for e in await timeline(two, alarm_id) if e.kind == "notification_failover"]
    assert len(moves) == 2


async def _all_sent(two: TwoProviders, phone: str) -> bool:
    rows = await _rows(two, phone)
    return len(rows) == 2 and all(n.status == "sent" for n in rows)


async def test_every_push_twice_acts_once(two: TwoProviders) -> None:
    """Alibaba Cloud pushes again when our answer is slow: each report, reply and key
    press is acted on once."""
    two.aliyun.push_twice = True
    two.aliyun.person(NIGHT_WORKER).presses = "1"
    alarm_id = await press(two, "sos-aliyun-4")
    two.clock.advance(60)
    await wait_for(lambda: _is(two, alarm_id, "acknowledged"), within=15)
    await two.aliyun.wait_for(
        lambda: (
            sum(1 for k, i, st in two.aliyun.pushes if i[0].get("dtmf") == "1" and st == 200) >= 2
        )
    )
    await two.aliyun.wait_for(
        lambda: sum(1 for k, _, _ in two.aliyun.pushes if k == "sms-report") >= 2
    )
    lines = await timeline(two, alarm_id)
    assert [e.kind for e in lines].count("ack") == 1
    statuses = [
        ((e.data or {})["notification_id"], (e.data or {})["status"])
        for e in lines
        if e.kind == "notification_status"
    ]
    assert len(statuses) == len(set(statuses))
    # a reply pushed twice (the same sequence_id): one arrival, one answer
    async with aiohttp.ClientSession() as http:
        up = [{"phone_number": NIGHT_WORKER[3:], "content": "3", "sequence_id": 4711}]
        for _ in range(2):
            async with http.post(f"{two.push}/sms-up", json=up) as response:
                assert response.status == 200
    lines = await timeline(two, alarm_id)
    assert [e.kind for e in lines].count("arrived") == 1
    await two.aliyun.wait_for(
        lambda: any(s["code_name"] == "reply_arrived" for s in two.aliyun.sms)
    )
    assert sum(1 for s in two.aliyun.sms if s["code_name"] == "reply_arrived") == 1


async def test_a_bad_push_is_refused_clearly_and_changes_nothing(two: TwoProviders) -> None:
    async with aiohttp.ClientSession() as http:
        for body in (b"not json", b'{"a": 1', b"[1, 2]", b'"text"'):
            async with http.post(f"{two.push}/sms-report", data=body) as response:
                assert response.status == 400
        # an item about no notification of ours, or of a bad out_id: received, ignored
        strange = [{"biz_id": "1^0", "out_id": "x"}, {"biz_id": "2^0", "out_id": "999999"}]
        async with http.post(f"{two.push}/sms-report", json=strange) as response:
            assert response.status == 200
            assert (await response.json()) == {"code": 0, "msg": "received"}
        async with http.post(f"{two.push}/voice-report", json=strange) as response:
            assert response.status == 200
        async with http.get(f"{two.push.rsplit('/aliyun', 1)[0]}/healthz") as response:
            assert response.status == 200


async def test_an_sms_reported_undelivered_goes_by_twilio_once(two: TwoProviders) -> None:
    two.aliyun.person(NIGHT_WORKER).undelivered = True
    alarm_id = await press(two, "sos-aliyun-5")
    two.clock.advance(60)
    await wait_for(lambda: NIGHT_WORKER in twilio_to(two, "Messages"))
    await two.twilio.settle()
    assert twilio_to(two, "Messages").count(NIGHT_WORKER) == 1
    assert NIGHT_WORKER not in twilio_to(two, "Calls")  # the call went by Alibaba Cloud
    moves = [e for e in await timeline(two, alarm_id) if e.kind == "notification_failover"]
    assert [(e.data or {})["channel"] for e in moves] == ["sms"]
    assert "IC:0015" in (moves[0].data or {})["detail"]
