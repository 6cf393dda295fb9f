"""Daily care on the phones, through the Twilio stand-in: providers get service requests
and answer 1 and 4, operators send one and record its state, relatives hear who took an
emergency and how it ended, in their language, and someone at the door is recorded from
the dashboard, an SMS `3` and the key 3 in a call. And what issue 9 asked of replies: a
replayed MessageSid acts once, a bare `1` while several alarms wait asks which."""

from __future__ import annotations

import aiohttp
from sqlalchemy import select, update

from dispatcher.store.models import Alarm, Contact, EventLog, Provider, Resident
from dispatcher.users.accounts import Role
from harness.mqtt import event, raw_peer, wait_for
from harness.service import add_user, api_client, timeline_kinds
from tests.notify.conftest import NIGHT_WORKER, OUR_NUMBER, PhoneCity, contact_phone
from tests.notify.test_phone_story import alarm, numbers_texted, press, spec_clean

MOSQUITTO = ("127.0.0.1", 1883)
MEALS = "+8613866660001"
REPAIRS = "+8613866660002"
RESIDENT_PHONE = "+8613911112222"


async def a_service_circle(pc: PhoneCity) -> None:
    """Two providers in 康桥; 居民1 has meals by default and a phone of her own."""
    async with pc.service.sessions.begin() as session:
        session.add_all(
            [
                Provider(
                    id="p-meal", community_id="kangqiao", name="康桥老年餐桌", category="meals",
                    phone=MEALS,
                ),
                Provider(
                    id="p-fix", community_id="kangqiao", name="纬北路维修部",
                    category="repairs", phone=REPAIRS,
                ),
            ]
        )  # fmt: skip
        await session.execute(
            update(Resident)
            .where(Resident.id == "r-0001")
            .values(service_default="meals", phone=RESIDENT_PHONE)
        )


async def press_type(pc: PhoneCity, terminal: str, event_id: str, type_: str) -> int:
    async with raw_peer(MOSQUITTO, pc.service.settings.mqtt.topic_prefix) as peer:
        await peer.publish(terminal, "event", event(event_id, type_))
        assert (await peer.next_ack())[1]["result"] == "accepted"
    async with pc.service.sessions() as session:
        found = await session.scalar(
            select(Alarm.id)
            .join(EventLog, EventLog.alarm_id == Alarm.id)
            .where(EventLog.event_id == event_id)
        )
    assert found is not None
    return found


def inbox(pc: PhoneCity, phone: str) -> list[str]:
    return pc.standin.person(phone).inbox


async def log_data(pc: PhoneCity, alarm_id: int, kind: str) -> list[dict[str, object]]:
    async with pc.service.sessions() as session:
        rows = await session.scalars(
            select(EventLog).where(EventLog.alarm_id == alarm_id, EventLog.kind == kind)
        )
        return [{**(r.data or {}), "actor": r.actor} for r in rows]


async def test_the_default_provider_gets_the_request_at_once_and_answers_1_then_4(
    phone_city: PhoneCity,
) -> None:
    pc = phone_city
    await a_service_circle(pc)
    alarm_id = await press_type(pc, pc.city.terminals[0], "green-1", "service")
    await pc.standin.wait_for(lambda: len(inbox(pc, MEALS)) == 1)
    request = inbox(pc, MEALS)[0]
    for part in (
        "居民1",
        "纬北路1号",
        RESIDENT_PHONE,
        "助餐",
        f"“1 {alarm_id}”",
        f"“4 {alarm_id}”",
    ):
        assert part in request
    assert REPAIRS not in numbers_texted(pc)  # only the category asked for

    await pc.standin.send_inbound_sms(MEALS, OUR_NUMBER, "1")
    taken = await alarm(pc, alarm_id)
    assert (taken.status, taken.service_state, taken.provider_id) == (
        "acknowledged",
        "accepted",
        "p-meal",
    )
    assert taken.acknowledged_by == "康桥老年餐桌"
    assert inbox(pc, MEALS)[-1] == f"已确认由您接单（编号{alarm_id}），完成后请回复“4 {alarm_id}”。"

    await pc.standin.send_inbound_sms(MEALS, OUR_NUMBER, f"4 {alarm_id}")
    done = await alarm(pc, alarm_id)
    assert (done.status, done.outcome, done.service_state) == ("resolved", "service_done", "done")
    states = await log_data(pc, alarm_id, "service_state")
    assert [(s["state"], s["via"], s["actor"]) for s in states] == [
        ("accepted", "sms", "康桥老年餐桌"),
        ("done", "sms", "康桥老年餐桌"),
    ]
    pc.clock.advance(3600)  # the workers' step never comes: it was taken
    await pc.service.engine.run_once()
    assert NIGHT_WORKER not in numbers_texted(pc)
    spec_clean(pc)


async def test_an_operator_sends_a_provider_and_records_the_states(phone_city: PhoneCity) -> None:
    pc = phone_city
    await a_service_circle(pc)
    await add_user(pc.service, "op1", Role.OPERATOR)
    alarm_id = await press_type(pc, pc.city.terminals[1], "green-2", "service")  # no default
    async with api_client(pc.service, "op1") as api:
        async with api.get(f"/api/alarms/{alarm_id}/context") as response:
            view = await response.json()
        assert {(p["id"], p["category"], p["phone"]) for p in view["providers"]} == {
            ("p-meal", "meals", MEALS),
            ("p-fix", "repairs", REPAIRS),
        }
        async with api.post(
            f"/api/alarms/{alarm_id}/dispatch", json={"provider_id": "p-nowhere"}
        ) as response:
            assert response.status == 422
        async with api.post(
            f"/api/alarms/{alarm_id}/dispatch", json={"provider_id": "p-fix"}
        ) as response:
            assert response.status == 200
            sent = await response.json()
        assert (sent["provider_id"], sent["acknowledged_by"], sent["service_state"]) == (
            "p-fix",
            "op1",
            None,
        )
        await pc.standin.wait_for(lambda: len(inbox(pc, REPAIRS)) == 1)
        assert "居民2" in inbox(pc, REPAIRS)[0]
        assert "维修" in inbox(pc, REPAIRS)[0]
        async with api.post(
            f"/api/alarms/{alarm_id}/service", json={"state": "on_the_way"}
        ) as response:
            assert (await response.json())["service_state"] == "on_the_way"
        async with api.post(
            f"/api/alarms/{alarm_id}/service", json={"state": "accepted"}
        ) as response:
            assert response.status == 409  # no going back
        await pc.standin.send_inbound_sms(REPAIRS, OUR_NUMBER, "4")
        async with api.get(f"/api/alarms/{alarm_id}") as response:
            detail = await response.json()
        assert (detail["status"], detail["outcome"], detail["service_state"]) == (
            "resolved",
            "service_done",
            "done",
        )
        assert "service_dispatched" in [line["kind"] for line in detail["timeline"]]
        emergency = await press(pc, pc.city.terminals[2], "sos-not-a-service")
        async with api.post(
            f"/api/alarms/{emergency}/dispatch", json={"provider_id": "p-fix"}
        ) as response:
            assert response.status == 409
    spec_clean(pc)


async def test_relatives_hear_who_took_it_and_how_it_ended_in_their_language(
    phone_city: PhoneCity,
) -> None:
    pc = phone_city
    english, chinese, never_told = contact_phone(1, 1), contact_phone(2, 1), contact_phone(2, 2)
    async with pc.service.sessions.begin() as session:
        await session.execute(
            update(Contact)
            .where(Contact.resident_id == "r-0001", Contact.priority == 1)
            .values(language="en")
        )
    await add_user(pc.service, "op1", Role.OPERATOR)
    first = await press(pc, pc.city.terminals[0], "sos-told-1")
    second = await press(pc, pc.city.terminals[1], "sos-told-2")
    async with api_client(pc.service, "op1") as api:
        for alarm_id in (first, second):
            async with api.post(f"/api/alarms/{alarm_id}/ack") as response:
                assert response.status == 200
        await pc.standin.wait_for(lambda: len(inbox(pc, english)) == 1)
        await pc.standin.wait_for(lambda: len(inbox(pc, chinese)) == 1)
        assert inbox(pc, english) == [
            "[One-touch] An operator of the one-touch centre has taken 居民1's call for help."
        ]
        assert inbox(pc, chinese) == ["【一键通】居民2的求助已由一键通中心接警员接手处理。"]
        for alarm_id in (first, second):
            async with api.post(
                f"/api/alarms/{alarm_id}/resolve", json={"outcome": "help_given"}
            ) as response:
                assert response.status == 200
        await pc.standin.wait_for(lambda: len(inbox(pc, english)) == 2)
        await pc.standin.wait_for(lambda: len(inbox(pc, chinese)) == 2)
    assert inbox(pc, english)[1] == "[One-touch] 居民1's call for help is closed: Help given."
    assert inbox(pc, chinese)[1] == "【一键通】居民2的求助已处理完毕：已提供帮助。"
    assert never_told not in numbers_texted(pc)  # contact 2 was never told of it
    spec_clean(pc)


async def test_someone_at_the_door_by_dashboard_sms_and_key(phone_city: PhoneCity) -> None:
    pc = phone_city
    await add_user(pc.service, "op1", Role.OPERATOR)
    pc.standin.person(NIGHT_WORKER).answers_after(0.01).presses("3")
    by_key = await press(pc, pc.city.terminals[0], "sos-door-1")
    pc.clock.advance(60)  # the night worker is called: he is there already, presses 3
    at_door = await wait_for(lambda: _arrived(pc, by_key))
    assert (at_door.arrived_by, at_door.status) == ("刘军", "open")
    assert (await log_data(pc, by_key, "arrived"))[0]["via"] == "voice"

    by_sms = await press(pc, pc.city.terminals[1], "sos-door-2")
    pc.clock.advance(60)
    await wait_for(lambda: numbers_texted(pc).count(NIGHT_WORKER) == 2)
    # two alarms not closed: a bare 3 asks which
    await pc.standin.send_inbound_sms(NIGHT_WORKER, OUR_NUMBER, "3")
    assert inbox(pc, NIGHT_WORKER)[-1].startswith("您有2起待处理的报警")
    await pc.standin.send_inbound_sms(NIGHT_WORKER, OUR_NUMBER, f"3 {by_sms}")
    assert inbox(pc, NIGHT_WORKER)[-1] == f"已记录您到达现场（编号{by_sms}），谢谢！"
    assert (await log_data(pc, by_sms, "arrived"))[0]["via"] == "sms"

    by_operator = await press(pc, pc.city.terminals[2], "sos-door-3")
    async with api_client(pc.service, "op1") as api:
        async with api.post(f"/api/alarms/{by_operator}/arrived", json={"wh": "张丽"}) as bad:
            assert bad.status == 422  # a typo loses nothing and records nothing
        # the operator heard it on the phone: the operator is not the one at the door
        async with api.post(f"/api/alarms/{by_operator}/arrived", json={"who": "张丽"}) as response:
            assert response.status == 200
            assert (await response.json())["arrived_by"] == "张丽"
        # the first arrival counts; the second is a line of its own
        async with api.post(f"/api/alarms/{by_operator}/arrived") as response:
            assert response.status == 200
            body = await response.json()
        assert body["arrived_by"] == "张丽"
        async with api.get("/api/queue") as response:
            lines = {a["id"]: a for a in (await response.json())["alarms"]}
    assert lines[by_operator]["arrived_at"] == body["arrived_at"]
    assert lines[by_key]["arrived_by"] == "刘军"
    assert (await timeline_kinds(pc.service, by_operator)).count("arrived") == 2
    recorded = await log_data(pc, by_operator, "arrived")
    assert [(d["via"], d.get("who")) for d in recorded] == [
        ("dashboard", "张丽"),
        ("dashboard", None),
    ]


async def test_a_replayed_sms_acts_once_and_a_bare_1_asks_which(phone_city: PhoneCity) -> None:
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).never_answers()
    first = await press(pc, pc.city.terminals[0], "sos-which-1")
    second = await press(pc, pc.city.terminals[1], "sos-which-2")
    pc.clock.advance(60)
    await wait_for(lambda: numbers_texted(pc).count(NIGHT_WORKER) == 2)
    # both alarms' SMS in his inbox first: what comes after are the answers
    await pc.standin.wait_for(
        lambda: sum(m.startswith("【一键通】") for m in inbox(pc, NIGHT_WORKER)) == 2
    )

    await pc.standin.send_inbound_sms(NIGHT_WORKER, OUR_NUMBER, "1")
    question = inbox(pc, NIGHT_WORKER)[-1]
    assert f"居民2（编号{second}）" in question
    assert f"居民1（编号{first}）" in question
    assert {(await alarm(pc, a)).status for a in (first, second)} == {"open"}

    taking = await pc.standin.send_inbound_sms(NIGHT_WORKER, OUR_NUMBER, f"1 {first}")
    assert (await alarm(pc, first)).acknowledged_by == "刘军"
    answers = len(inbox(pc, NIGHT_WORKER))
    # Twilio posts the same SMS again (its own timeout): it acts once, answers nothing
    async with (
        aiohttp.ClientSession() as client,
        client.post(
            taking.url,
            data=dict(taking.params),
            headers={"X-Twilio-Signature": taking.signature},
        ) as response,
    ):
        assert response.status == 200
        assert "<Message>" not in await response.text()
    assert (await timeline_kinds(pc.service, first)).count("ack") == 1
    assert len(inbox(pc, NIGHT_WORKER)) == answers
    assert (await alarm(pc, second)).status == "open"


async def _arrived(pc: PhoneCity, alarm_id: int) -> Alarm | None:
    found = await alarm(pc, alarm_id)
    return found if found.arrived_at is not None else None
