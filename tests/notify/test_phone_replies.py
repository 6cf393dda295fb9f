"""The rest of what phones can say: 2 declines (next person at once), 9 repeats the
message, an answering machine takes nothing, STOP and START, and late callbacks."""

from __future__ import annotations

import aiohttp
from sqlalchemy import select

from dispatcher.store.models import EventLog, Notification, PhoneOptOut
from dispatcher.users.accounts import Role
from harness.mqtt import wait_for
from harness.service import add_user
from tests.notify.conftest import NIGHT_WORKER, OUR_NUMBER, PhoneCity, contact_phone
from tests.notify.test_phone_story import alarm, numbers_called, numbers_texted, press, spec_clean


async def test_pressing_2_declines_and_the_next_person_is_called_at_once(
    phone_city: PhoneCity,
) -> None:
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).answers_after(0.01).presses("2")
    alarm_id = await press(pc, pc.city.terminals[0], "sos-decline")
    pc.clock.advance(60)
    # no waiting out the worker's 120 s: contact 1 is called as soon as he declines...
    await wait_for(lambda: contact_phone(1, 1) in numbers_called(pc), within=15)
    assert (await alarm(pc, alarm_id)).status == "open"
    async with pc.service.sessions() as session:
        kinds = list(
            await session.scalars(select(EventLog.kind).where(EventLog.alarm_id == alarm_id))
        )
    # ...once both his notifications are over: the call declined, and so his SMS too
    assert "declined" in kinds
    assert "step_ended" in kinds
    spec_clean(pc)


async def test_9_repeats_the_message_then_1_takes_it(phone_city: PhoneCity) -> None:
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).answers_after(0.01).presses("9", "1")
    alarm_id = await press(pc, pc.city.terminals[0], "sos-repeat")
    pc.clock.advance(60)
    await wait_for(lambda: _status(pc, alarm_id, "acknowledged"), within=15)
    heard = pc.standin.person(NIGHT_WORKER).heard
    assert sum("居民1" in h for h in heard) >= 2  # the message, twice
    spec_clean(pc)


async def test_an_answering_machine_takes_nothing(phone_city: PhoneCity) -> None:
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).voicemail()
    alarm_id = await press(pc, pc.city.terminals[0], "sos-machine")
    pc.clock.advance(60)
    await pc.standin.wait_for(
        lambda: any(c.get("CallStatus") == "completed" for c in pc.standin.callbacks)
    )
    assert (await alarm(pc, alarm_id)).status == "open"
    assert not pc.standin.person(NIGHT_WORKER).heard


async def test_cancel_from_a_duty_worker_stops_his_sms_not_his_calls_and_supervisors_hear(
    phone_city: PhoneCity,
) -> None:
    """He meant "the resident pressed by mistake"; Twilio takes CANCEL for STOP and
    blocks our SMS to him. He is told so, the supervisors too, and he is still called."""
    pc = phone_city
    boss = "+8613700000009"
    await add_user(pc.service, "boss", Role.SUPERVISOR, phone=boss)
    pc.standin.person(NIGHT_WORKER).never_answers()
    await press(pc, pc.city.terminals[0], "sos-stop-1")
    pc.clock.advance(60)
    # both the SMS and the call of this step have gone before he replies
    await wait_for(
        lambda: NIGHT_WORKER in numbers_texted(pc) and NIGHT_WORKER in numbers_called(pc)
    )
    reply = await pc.standin.send_inbound_sms(NIGHT_WORKER, OUR_NUMBER, "cancel")
    assert reply.ok
    assert "紧急情况仍会致电您" in pc.standin.person(NIGHT_WORKER).inbox[-1]
    async with pc.service.sessions() as session:
        assert await session.get(PhoneOptOut, NIGHT_WORKER) is not None
    # the supervisor reads who stopped the SMS, and that calls still go
    await pc.standin.wait_for(lambda: any("刘军" in m for m in pc.standin.person(boss).inbox))
    told = next(m for m in pc.standin.person(boss).inbox if "刘军" in m)
    assert f"刘军（{NIGHT_WORKER}）回复“cancel”" in told

    texts, calls = numbers_texted(pc).count(NIGHT_WORKER), numbers_called(pc).count(NIGHT_WORKER)
    await press(pc, pc.city.terminals[1], "sos-stop-2")
    pc.clock.advance(60)
    await wait_for(lambda: _failed_for(pc, NIGHT_WORKER, "replied STOP"))
    await wait_for(lambda: numbers_called(pc).count(NIGHT_WORKER) == calls + 1)
    assert numbers_texted(pc).count(NIGHT_WORKER) == texts  # no SMS went to Twilio

    await pc.standin.send_inbound_sms(NIGHT_WORKER, OUR_NUMBER, "START")
    async with pc.service.sessions() as session:
        assert await session.get(PhoneOptOut, NIGHT_WORKER) is None


async def test_a_reply_from_an_unknown_number_changes_nothing(phone_city: PhoneCity) -> None:
    pc = phone_city
    alarm_id = await press(pc, pc.city.terminals[0], "sos-stranger")
    reply = await pc.standin.send_inbound_sms("+8613999999999", OUR_NUMBER, "1")
    assert reply.ok
    assert (await alarm(pc, alarm_id)).status == "open"


async def test_a_late_callback_never_undoes_a_later_status(phone_city: PhoneCity) -> None:
    pc = phone_city
    await press(pc, pc.city.terminals[0], "sos-order")
    pc.clock.advance(60)
    await wait_for(lambda: _delivered_sms(pc, NIGHT_WORKER))
    sms = [
        c
        for c in pc.standin.callbacks
        if c.kind == "message-status" and c.get("To") == NIGHT_WORKER
    ]
    sent = next(c for c in sms if c.get("MessageStatus") == "sent")
    # Twilio may deliver callbacks out of order: replay the older "sent" after "delivered"
    async with (
        aiohttp.ClientSession() as client,
        client.post(
            sent.url, data=dict(sent.params), headers={"X-Twilio-Signature": sent.signature}
        ) as response,
    ):
        assert response.status == 204
    assert await _delivered_sms(pc, NIGHT_WORKER)


async def _status(pc: PhoneCity, alarm_id: int, status: str) -> bool:
    return (await alarm(pc, alarm_id)).status == status


async def _failed_for(pc: PhoneCity, phone: str, why: str) -> bool:
    async with pc.service.sessions() as session:
        errors = list(
            await session.scalars(
                select(Notification.last_error).where(
                    Notification.phone == phone, Notification.status == "permanent_failure"
                )
            )
        )
    return any(e and why in e for e in errors)


async def _delivered_sms(pc: PhoneCity, phone: str) -> bool:
    async with pc.service.sessions() as session:
        found = await session.scalar(
            select(Notification.provider_status).where(
                Notification.phone == phone, Notification.channel == "sms"
            )
        )
    return found == "delivered"
