"""Workers and relatives take the alarm from their phone, through the Twilio stand-in:
calls with key presses, SMS replies with short codes, and what a forger cannot do."""

from __future__ import annotations

import aiohttp
from sqlalchemy import select, update

from dispatcher.store.models import Alarm, Contact, EventLog, Notification
from harness.mqtt import event, raw_peer, wait_for
from harness.service import outbox
from tests.notify.conftest import NIGHT_WORKER, OUR_NUMBER, PhoneCity, contact_phone

MOSQUITTO = ("127.0.0.1", 1883)


def numbers_called(pc: PhoneCity) -> list[str]:
    return [r.get("To") or "" for r in pc.standin.requests if r.path.endswith("/Calls.json")]


def numbers_texted(pc: PhoneCity) -> list[str]:
    return [r.get("To") or "" for r in pc.standin.requests if r.path.endswith("/Messages.json")]


async def alarm(pc: PhoneCity, alarm_id: int) -> Alarm:
    async with pc.service.sessions() as session:
        return await session.get_one(Alarm, alarm_id)


async def press(pc: PhoneCity, terminal: str, event_id: str) -> int:
    """A press that reached the operators; returns its alarm id."""
    async with raw_peer(MOSQUITTO, pc.service.settings.mqtt.topic_prefix) as peer:
        await peer.publish(terminal, "event", event(event_id))
        assert (await peer.next_ack())[1]["result"] == "accepted"
    async with pc.service.sessions() as session:
        found = await session.scalar(
            select(Alarm.id)
            .join(EventLog, EventLog.alarm_id == Alarm.id)
            .where(EventLog.event_id == event_id)
        )
    assert found is not None
    await wait_for(lambda: _sent_step(pc, found, 0))
    return found


async def _sent_step(pc: PhoneCity, alarm_id: int, step: int) -> bool:
    a = await alarm(pc, alarm_id)
    return a.escalation_started and a.step >= step


def spec_clean(pc: PhoneCity) -> None:
    """Everything we sent Twilio matches its OpenAPI description, and our TwiML plays."""
    assert pc.standin.requests
    assert [r.problems for r in pc.standin.requests if r.problems] == []
    assert pc.standin.call_problems == []


async def test_worker_does_not_answer_and_contact_1_presses_1(phone_city: PhoneCity) -> None:
    pc = phone_city
    contact1, contact2 = contact_phone(1, 1), contact_phone(1, 2)
    pc.standin.person(NIGHT_WORKER).never_answers()
    pc.standin.person(contact1).answers_after(0.01).presses("1")
    async with raw_peer(MOSQUITTO, pc.service.settings.mqtt.topic_prefix) as peer:
        await peer.publish(pc.city.terminals[0], "event", event("sos-1"))
        assert (await peer.next_ack())[1]["result"] == "accepted"
        alarm_id = (await _only_open(pc)).id
        await wait_for(lambda: _sent_step(pc, alarm_id, 0))

        pc.clock.advance(60)  # the night worker: SMS and a call nobody answers
        await wait_for(lambda: NIGHT_WORKER in numbers_called(pc))
        assert NIGHT_WORKER in numbers_texted(pc)
        await pc.standin.wait_for(
            lambda: any(c.get("CallStatus") == "no-answer" for c in pc.standin.callbacks)
        )

        pc.clock.advance(120)  # contact 1's phone rings; she presses 1
        await wait_for(lambda: _acknowledged(pc, alarm_id), within=15)
        a = await alarm(pc, alarm_id)
        assert a.acknowledged_by == "李娜"
        device, command = await peer.next_command()
        assert (device, command["type"]) == (pc.city.terminals[0], "help_coming")

    for _ in range(4):  # long past every later step: nobody else is called
        pc.clock.advance(300)
        await pc.service.engine.run_once()
    assert contact2 not in numbers_called(pc) + numbers_texted(pc)
    assert numbers_called(pc).count(contact1) == 1
    async with pc.service.sessions() as session:
        ack = await session.scalar(
            select(EventLog).where(EventLog.alarm_id == alarm_id, EventLog.kind == "ack")
        )
    assert ack is not None
    assert ack.data is not None
    assert ack.data["via"] == "voice"
    assert ack.data["recipient_key"].startswith("contact:")
    spec_clean(pc)


async def test_contact_1_takes_it_by_replying_1(phone_city: PhoneCity) -> None:
    pc = phone_city
    contact1 = contact_phone(1, 1)
    pc.standin.person(NIGHT_WORKER).never_answers()
    pc.standin.person(contact1).never_answers().replies_sms("1")
    alarm_id = await press(pc, pc.city.terminals[0], "sos-sms")
    pc.clock.advance(60)
    await wait_for(lambda: NIGHT_WORKER in numbers_texted(pc))
    pc.clock.advance(120)
    await wait_for(lambda: _acknowledged(pc, alarm_id), within=15)
    assert (await alarm(pc, alarm_id)).acknowledged_by == "李娜"
    # her phone got a confirmation in reply
    await pc.standin.wait_for(lambda: any("已确认" in m for m in pc.standin.person(contact1).inbox))
    spec_clean(pc)


async def test_a_short_code_picks_the_right_one_of_two_alarms(phone_city: PhoneCity) -> None:
    pc = phone_city
    shared = contact_phone(1, 1)
    async with pc.service.sessions.begin() as session:
        # the same daughter is contact 1 of both residents
        await session.execute(
            update(Contact)
            .where(Contact.resident_id == "r-0002", Contact.priority == 1)
            .values(phone=shared)
        )
    pc.standin.person(NIGHT_WORKER).never_answers()
    pc.standin.person(shared).never_answers()
    first = await press(pc, pc.city.terminals[0], "sos-a")
    second = await press(pc, pc.city.terminals[1], "sos-b")
    pc.clock.advance(60)
    await wait_for(lambda: numbers_texted(pc).count(NIGHT_WORKER) == 2)
    pc.clock.advance(120)
    await wait_for(lambda: _both_reached(pc, shared, first, second))

    # she answers the FIRST alarm by its code, though the second is newer
    reply = await pc.standin.send_inbound_sms(shared, OUR_NUMBER, f"1 {first}")
    assert reply.ok
    assert (await alarm(pc, first)).status == "acknowledged"
    assert (await alarm(pc, second)).status == "open"
    # a bare 1 now takes the latest still open: the second
    await pc.standin.send_inbound_sms(shared, OUR_NUMBER, "1")
    assert (await alarm(pc, second)).status == "acknowledged"


async def test_forged_webhooks_are_refused_and_change_nothing(phone_city: PhoneCity) -> None:
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).never_answers()
    alarm_id = await press(pc, pc.city.terminals[0], "sos-forge")
    pc.clock.advance(60)
    await wait_for(lambda: NIGHT_WORKER in numbers_texted(pc))
    rows = await outbox(pc.service)
    base = pc.service.settings.notifications.public_url
    forged = [
        ("/twilio/sms", {"From": NIGHT_WORKER, "To": OUR_NUMBER, "Body": "1"}),
        ("/twilio/gather/2", {"Digits": "1", "CallSid": "CA" + "0" * 32}),
        ("/twilio/status/2", {"MessageStatus": "failed", "MessageSid": "SM" + "0" * 32}),
    ]
    async with aiohttp.ClientSession() as client:
        for path, form in forged:
            for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}):
                async with client.post(base + path, data=form, headers=headers) as response:
                    assert response.status == 403, path
    a = await alarm(pc, alarm_id)
    assert (a.status, a.step) == ("open", 1)
    assert await outbox(pc.service) == rows


async def _only_open(pc: PhoneCity) -> Alarm:
    async def one() -> Alarm | None:
        async with pc.service.sessions() as session:
            return await session.scalar(select(Alarm).where(Alarm.status == "open"))

    found = await wait_for(one)
    assert isinstance(found, Alarm)
    return found


async def _acknowledged(pc: PhoneCity, alarm_id: int) -> bool:
    return (await alarm(pc, alarm_id)).status == "acknowledged"


async def _both_reached(pc: PhoneCity, phone: str, *alarm_ids: int) -> bool:
    async with pc.service.sessions() as session:
        rows = await session.scalars(
            select(Notification.alarm_id).where(
                Notification.phone == phone, Notification.status.in_(["sent", "delivered"])
            )
        )
        return set(alarm_ids) <= set(rows)
