"""A signed callback replayed (Twilio retrying, or someone who copied one) acts once: a
key pressed in a call once per CallSid, notification and key; an SMS reply once per
MessageSid. One without its id acts never. Against the stand-in, on both databases."""

from __future__ import annotations

import aiohttp
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from dispatcher.store.models import EventLog
from harness.mqtt import wait_for
from simulators.twilio.records import Callback
from tests.notify.conftest import NIGHT_WORKER, OUR_NUMBER, PhoneCity
from tests.notify.test_phone_story import press


async def _lines(pc: PhoneCity, alarm_id: int, kind: str) -> int:
    async with pc.service.sessions() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(EventLog)
            .where(EventLog.alarm_id == alarm_id, EventLog.kind == kind)
        )
    return int(found or 0)


async def _replay(callback: Callback, form: dict[str, str] | None = None, token: str = "") -> int:
    data = dict(callback.params) if form is None else form
    signature = (
        callback.signature
        if form is None
        else RequestValidator(token).compute_signature(callback.url, data)
    )
    async with (
        aiohttp.ClientSession() as client,
        client.post(callback.url, data=data, headers={"X-Twilio-Signature": signature}) as answer,
    ):
        return answer.status


async def test_a_key_press_and_an_sms_replayed_act_once(phone_city: PhoneCity) -> None:
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).answers_after(0.01).presses("3")
    alarm_id = await press(pc, pc.city.terminals[0], "sos-replay")
    pc.clock.advance(60)
    await wait_for(lambda: _arrived_once(pc, alarm_id), within=15)
    # the stand-in records the callback once our answer is back, after the arrival
    # committed
    [key] = await wait_for(
        lambda: [c for c in pc.standin.callbacks if c.kind == "gather" and c.get("Digits") == "3"]
    )
    for _ in range(2):
        assert await _replay(key) == 200
    assert await _lines(pc, alarm_id, "arrived") == 1
    # the same, signed anew without its CallSid: not acted on either
    form = {k: v for k, v in key.params if k != "CallSid"}
    assert await _replay(key, form, pc.standin.auth_token) == 200
    assert await _lines(pc, alarm_id, "arrived") == 1

    sms = await pc.standin.send_inbound_sms(NIGHT_WORKER, OUR_NUMBER, "3")
    assert sms.ok
    arrived = await _lines(pc, alarm_id, "arrived")
    for _ in range(2):
        assert await _replay(sms) == 200
    assert await _lines(pc, alarm_id, "arrived") == arrived
    form = {k: v for k, v in sms.params if k not in {"MessageSid", "SmsSid", "SmsMessageSid"}}
    assert await _replay(sms, form, pc.standin.auth_token) == 200
    assert await _lines(pc, alarm_id, "arrived") == arrived


async def _arrived_once(pc: PhoneCity, alarm_id: int) -> bool:
    return await _lines(pc, alarm_id, "arrived") == 1
