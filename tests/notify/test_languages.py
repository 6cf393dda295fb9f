"""Everyone hears the service in their own language: an English-speaking daughter reads
her SMS and her reply's confirmation in English, and an English-speaking resident's
terminal shows English; the rest of the city stays Chinese."""

from __future__ import annotations

from sqlalchemy import update

from dispatcher.store.models import Contact, Resident
from harness.mqtt import raw_peer, wait_for
from tests.notify.conftest import NIGHT_WORKER, PhoneCity, contact_phone
from tests.notify.test_phone_story import MOSQUITTO, alarm, numbers_texted, press, spec_clean


async def test_an_english_family_hears_english_a_chinese_worker_chinese(
    phone_city: PhoneCity,
) -> None:
    pc = phone_city
    daughter = contact_phone(1, 1)
    async with pc.service.sessions.begin() as session:
        await session.execute(update(Resident).where(Resident.id == "r-0001").values(language="en"))
        await session.execute(
            update(Contact)
            .where(Contact.resident_id == "r-0001", Contact.priority == 1)
            .values(language="en")
        )
    pc.standin.person(NIGHT_WORKER).never_answers()
    pc.standin.person(daughter).never_answers().replies_sms("1")
    alarm_id = await press(pc, pc.city.terminals[0], "sos-english")
    async with raw_peer(MOSQUITTO, pc.service.settings.mqtt.topic_prefix) as terminal:
        pc.clock.advance(60)
        await wait_for(lambda: NIGHT_WORKER in numbers_texted(pc))
        pc.clock.advance(120)
        inbox = pc.standin.person(daughter).inbox
        await pc.standin.wait_for(lambda: len(inbox) == 2)  # the alarm, then the answer
        _, command = await terminal.next_command(within=15)

    texts = {r.get("To"): r.get("Body") or "" for r in pc.standin.requests if r.get("Body")}
    assert "能去请回复" in texts[NIGHT_WORKER]
    assert "Reply 1" in texts[daughter]
    assert inbox[0].startswith("[One-touch] URGENT: 居民1")
    assert inbox[1] == (
        f"Thank you: you are taking alarm {alarm_id}. Reply 3 {alarm_id} when you are at the door."
    )
    assert command == {
        "type": "help_coming",
        "alarm_id": str(alarm_id),
        "text": "Your call for help was received. Help is on its way.",
    }
    assert (await alarm(pc, alarm_id)).acknowledged_by == "李娜"
    spec_clean(pc)
