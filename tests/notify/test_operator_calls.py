"""An operator speaks with the resident from the alarm view, through the Twilio stand-in
(docs/api.md): the operator's own phone rings first, once answered the resident's is
<Dial>led, and the timeline says who answered and for how long; a status report Twilio
sends again adds nothing. What Twilio checks (the Calls request against its OpenAPI
description, the TwiML) the stand-in checks too."""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import select, update

from dispatcher.store.models import Call, EventLog, Resident
from dispatcher.users.accounts import Role
from harness.mqtt import wait_for
from harness.service import add_user, api_client
from simulators.twilio.records import Callback
from tests.notify.conftest import OUR_NUMBER, PhoneCity
from tests.notify.test_phone_story import press, spec_clean

OPERATOR_PHONE = "+8613800000009"
RESIDENT_PHONE = "+8613700000001"
CALL_KINDS = ("call_placed", "call_connected", "call_ended", "call_failed")


async def call_lines(pc: PhoneCity, alarm_id: int) -> list[EventLog]:
    async with pc.service.sessions() as session:
        found = await session.scalars(
            select(EventLog)
            .where(EventLog.alarm_id == alarm_id, EventLog.kind.in_(CALL_KINDS))
            .order_by(EventLog.id)
        )
        return list(found)


async def ended(pc: PhoneCity, alarm_id: int) -> bool:
    return any(line.kind == "call_ended" for line in await call_lines(pc, alarm_id))


async def an_alarm_with_op1(pc: PhoneCity, *, phone: str | None = OPERATOR_PHONE) -> int:
    await add_user(pc.service, "op1", Role.OPERATOR, phone=phone)
    async with pc.service.sessions.begin() as session:
        await session.execute(
            update(Resident)
            .where(Resident.id == pc.city.residents[0])
            .values(name="王秀英", phone=RESIDENT_PHONE)
        )
    return await press(pc, pc.city.terminals[0], "sos-call")


async def call(pc: PhoneCity, alarm_id: int, to: str, **cookies: str) -> tuple[int, Any]:
    async with api_client(pc.service, "op1") as client:
        client.cookie_jar.update_cookies(cookies)
        async with client.post(f"/api/alarms/{alarm_id}/call", json={"to": to}) as response:
            return response.status, await response.json()


def calls_made(pc: PhoneCity) -> list[Any]:
    return [r for r in pc.standin.requests if r.path.endswith("/Calls.json")]


async def test_the_operator_then_the_resident_talk_95_seconds(phone_city: PhoneCity) -> None:
    pc = phone_city
    alarm_id = await an_alarm_with_op1(pc)
    pc.standin.person(RESIDENT_PHONE).answers_after(0.01).talks(95)

    status, body = await call(pc, alarm_id, "resident")
    assert status == 200, body
    assert (body["to"], body["name"], body["phone"]) == ("resident", "王秀英", RESIDENT_PHONE)
    assert body["operator_phone"] == OPERATOR_PHONE
    assert body["provider"] == "twilio"
    await wait_for(lambda: ended(pc, alarm_id))
    await pc.standin.settle()

    # one request to Twilio: a call to the operator's phone, from our number, no voicemail
    # detection; the resident is rung by the TwiML once the operator answered
    (request,) = calls_made(pc)
    assert request.status == 201
    assert (request.get("To"), request.get("From")) == (OPERATOR_PHONE, OUR_NUMBER)
    assert request.get("MachineDetection") is None
    assert (request.get("Url") or "").endswith(f"/twilio/call/{body['id']}/bridge")
    spec_clean(pc)
    operator_sid = request.response["sid"]
    (child,) = [c for c in pc.standin.calls.values() if c["parent_call_sid"] == operator_sid]
    assert child["to"] == RESIDENT_PHONE
    assert pc.standin.person(RESIDENT_PHONE).shown == [OUR_NUMBER]  # our number, not op1's
    assert pc.standin.person(OPERATOR_PHONE).heard == ["一键通接警台：正在为您接通王秀英，请稍候。"]
    # the operator's phone was answered before the resident's rang
    kinds = [c.kind for c in pc.standin.callbacks]
    assert kinds.index("voice") < kinds.index("dial-status")
    assert all(c.ok for c in pc.standin.callbacks)

    lines = await call_lines(pc, alarm_id)
    assert [line.kind for line in lines] == ["call_placed", "call_connected", "call_ended"]
    assert lines[0].actor == "op1"
    assert lines[0].data is not None
    assert lines[0].data["provider"] == "twilio"
    last = lines[-1].data
    assert last is not None
    assert (last["name"], last["answered"], last["duration_s"]) == ("王秀英", True, 95)
    async with pc.service.sessions() as session:
        row = await session.get_one(Call, body["id"])
    assert (row.status, row.operator_sid, row.party_sid) == ("ended", operator_sid, child["sid"])
    assert row.operator_answered_at is not None
    assert row.party_answered_at is not None

    # Twilio sends the resident's "completed" again, and the dial's end: nothing new
    again = [c for c in pc.standin.callbacks if c.kind in {"dial-status", "dial-action"}]
    for callback in again:
        assert await replay(callback) in {200, 204}
    assert len(await call_lines(pc, alarm_id)) == 3


async def replay(callback: Callback) -> int:
    """The same signed request again, as Twilio retries one."""
    headers = {"X-Twilio-Signature": callback.signature}
    async with (
        aiohttp.ClientSession() as client,
        client.post(callback.url, data=dict(callback.params), headers=headers) as response,
    ):
        return response.status


async def test_the_resident_is_busy(phone_city: PhoneCity) -> None:
    pc = phone_city
    alarm_id = await an_alarm_with_op1(pc)
    pc.standin.person(RESIDENT_PHONE).busy()
    status, _ = await call(pc, alarm_id, "resident")
    assert status == 200
    await wait_for(lambda: ended(pc, alarm_id))
    await pc.standin.settle()
    spec_clean(pc)
    lines = await call_lines(pc, alarm_id)
    assert [line.kind for line in lines] == ["call_placed", "call_ended"]
    assert lines[-1].data is not None
    assert (lines[-1].data["outcome"], lines[-1].data["answered"]) == ("busy", False)
    # the operator hears that nobody answered, in the dashboard's language
    assert pc.standin.person(OPERATOR_PHONE).heard[-1] == "王秀英没有接听。再见。"


async def test_the_operator_does_not_answer(phone_city: PhoneCity) -> None:
    pc = phone_city
    alarm_id = await an_alarm_with_op1(pc)
    pc.standin.person(OPERATOR_PHONE).never_answers()
    status, _ = await call(pc, alarm_id, "contact:1")
    assert status == 200
    await wait_for(lambda: ended(pc, alarm_id))
    await pc.standin.settle()
    lines = await call_lines(pc, alarm_id)
    assert [line.kind for line in lines] == ["call_placed", "call_ended"]
    assert lines[-1].data is not None
    assert (lines[-1].data["leg"], lines[-1].data["outcome"]) == ("operator", "no-answer")
    assert not any(c.get("ParentCallSid") for c in pc.standin.callbacks)  # nobody else rung


async def test_an_operator_without_a_phone_is_told_why(phone_city: PhoneCity) -> None:
    pc = phone_city
    alarm_id = await an_alarm_with_op1(pc, phone=None)
    status, body = await call(pc, alarm_id, "resident")
    assert status == 409
    assert body["error"].startswith("您的账号（op1）没有登记电话号码")
    status, body = await call(pc, alarm_id, "resident", dispatcher_lang="en")
    assert status == 409
    assert body["error"].startswith("Your account (op1) has no phone number")
    assert calls_made(pc) == []
    assert await call_lines(pc, alarm_id) == []


async def test_whom_the_alarm_does_not_know_is_refused(phone_city: PhoneCity) -> None:
    pc = phone_city
    alarm_id = await an_alarm_with_op1(pc)
    for to, expected in (
        ("contact:9", 404),  # the resident has two contacts
        ("worker:w-nobody", 404),
        ("worker:w-day", 200),  # a worker of the community
        ("resident; drop", 422),
    ):
        status, body = await call(pc, alarm_id, to)
        assert status == expected, (to, body)
    status, body = await call(pc, 999_999, "resident")
    assert status == 404


async def test_twilio_refuses_the_call(phone_city: PhoneCity) -> None:
    pc = phone_city
    alarm_id = await an_alarm_with_op1(pc)
    pc.standin.person(OPERATOR_PHONE).rejected_with(21214)
    status, body = await call(pc, alarm_id, "resident")
    assert status == 502
    assert body["error"].startswith("电话未能拨出")
    lines = await call_lines(pc, alarm_id)
    assert [line.kind for line in lines] == ["call_placed", "call_failed"]
