"""The responder at the door (docs/api.md), through the Twilio stand-in over real HTTP:
the link in the SMS the night worker got opens their page; 我去 takes the alarm for them,
已到达 records their arrival, each in the timeline "via link"; a relative's page has no
medical notes; a wrong token, a token past its day after the close, or one whose alarm
is over while the same worker has another, is 404 and shows nothing; every view is
audited; a token asked too often is refused."""

from __future__ import annotations

import re

import aiohttp
from sqlalchemy import select, update

from dispatcher.rules.messages import sms_segments
from dispatcher.store.models import (
    Alarm,
    AuditEntry,
    EventLog,
    Provider,
    Resident,
    ResponderLink,
)
from dispatcher.users.accounts import Role
from harness.mqtt import event, raw_peer, wait_for
from harness.service import add_user, api_client
from tests.notify.conftest import NIGHT_WORKER, PhoneCity, contact_phone
from tests.notify.test_phone_story import alarm, numbers_texted, press

MOSQUITTO = ("127.0.0.1", 1883)
LINK = re.compile(r"(http://127\.0\.0\.1:\d+)(/r/[A-Za-z0-9_-]{22})$")


def link_in_sms(pc: PhoneCity, phone: str, nth: int = 0) -> str:
    """The path of the responder link that ends the nth SMS to `phone`."""
    bodies = [
        r.get("Body") or ""
        for r in pc.standin.requests
        if r.path.endswith("/Messages.json") and r.get("To") == phone
    ]
    body = bodies[nth]
    assert sms_segments(body) <= pc.service.settings.notifications.sms_max_segments
    found = LINK.search(body)
    assert found is not None, body
    assert found.group(1) == pc.service.settings.notifications.public_url
    return found.group(2)


async def _open(client: aiohttp.ClientSession, path: str) -> tuple[int, str]:
    async with client.get(path) as response:
        return response.status, await response.text()


async def _press(client: aiohttp.ClientSession, path: str, button: str) -> tuple[int, str]:
    async with client.post(f"{path}/{button}") as response:
        return response.status, await response.text()


async def _lines(pc: PhoneCity, alarm_id: int, kind: str) -> list[EventLog]:
    async with pc.service.sessions() as session:
        return list(
            await session.scalars(
                select(EventLog).where(EventLog.alarm_id == alarm_id, EventLog.kind == kind)
            )
        )


async def test_the_night_worker_takes_it_and_arrives_by_the_link(phone_city: PhoneCity) -> None:
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).never_answers()
    alarm_id = await press(pc, pc.city.terminals[0], "sos-link")
    pc.clock.advance(60)  # the night worker is texted, with the link
    await wait_for(lambda: NIGHT_WORKER in numbers_texted(pc))
    path = link_in_sms(pc, NIGHT_WORKER)
    base = pc.service.settings.notifications.public_url
    async with aiohttp.ClientSession(base) as client:
        status, page = await _open(client, path)
        assert status == 200
        for seen in (
            "居民1",
            "天桥区纬北路1号",
            "按下紧急呼叫",
            "高血压",
            "刘军",
            "我去",
            "已到达",
        ):
            assert seen in page, seen
        assert "还没有人接手" in page

        status, page = await _press(client, path, "take")
        assert status == 200
        assert "已记录：由您前往" in page
        a = await alarm(pc, alarm_id)
        assert (a.status, a.acknowledged_by) == ("acknowledged", "刘军")
        [ack] = await _lines(pc, alarm_id, "ack")
        assert ack.data is not None
        assert (ack.data["via"], ack.data["recipient_key"]) == ("link", "worker:w-night")
        assert "已由刘军接手" in page
        assert 'action="' + path + "/take" not in page  # taken: only 已到达 is left

        status, page = await _press(client, path, "arrived")
        assert status == 200
        a = await alarm(pc, alarm_id)
        assert a.arrived_by == "刘军"
        assert a.arrived_at == pc.clock.now()
        [arrived] = await _lines(pc, alarm_id, "arrived")
        assert arrived.data is not None
        assert arrived.data["via"] == "link"
        assert arrived.actor == "刘军"

        # pressed again (a double tap): the arrival stands as it was
        await _press(client, path, "arrived")
        assert (await alarm(pc, alarm_id)).arrived_at == a.arrived_at

    async with pc.service.sessions() as session:
        views = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "view_responder"))
        )
        stored = list(await session.scalars(select(ResponderLink)))
    assert [(v.actor, v.role, v.alarm_id) for v in views] == [("刘军", "worker", alarm_id)]
    assert views[0].detail == {"recipient_key": "worker:w-night", "medical": True}
    # only the token's hash is kept: the table gives no working link away
    assert path.removeprefix("/r/") not in {s.token_hash for s in stored}


async def test_a_relatives_page_has_no_medical_notes_and_declines(phone_city: PhoneCity) -> None:
    pc = phone_city
    daughter = contact_phone(1, 1)
    pc.standin.person(NIGHT_WORKER).never_answers()
    pc.standin.person(daughter).never_answers()
    alarm_id = await press(pc, pc.city.terminals[0], "sos-relative")
    pc.clock.advance(60)
    await wait_for(lambda: NIGHT_WORKER in numbers_texted(pc))
    pc.clock.advance(120)
    await wait_for(lambda: daughter in numbers_texted(pc), within=15)
    path = link_in_sms(pc, daughter)
    async with aiohttp.ClientSession(pc.service.settings.notifications.public_url) as client:
        status, page = await _open(client, path)
        assert status == 200
        assert "李娜" in page
        assert "高血压" not in page
        assert "健康信息" not in page
        assert "刘军" in page  # who else was asked
        status, page = await _press(client, path, "decline")
        assert "已收到，我们将联系其他人" in page
        # and in English, as she may choose
        status, page = await _open(client, path + "?lang=en")
        assert "Also asked" in page
    [declined] = await _lines(pc, alarm_id, "declined")
    assert declined.data is not None
    assert declined.data["via"] == "link"
    assert (await alarm(pc, alarm_id)).status == "open"


async def test_wrong_expired_and_other_alarms_tokens_get_404(phone_city: PhoneCity) -> None:
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).never_answers()
    await add_user(pc.service, "op1", Role.OPERATOR)
    first = await press(pc, pc.city.terminals[0], "sos-old")
    pc.clock.advance(60)
    await wait_for(lambda: NIGHT_WORKER in numbers_texted(pc))
    old = link_in_sms(pc, NIGHT_WORKER)
    closing = {"outcome": "help_given"}
    async with (
        api_client(pc.service, "op1") as api,
        api.post(f"/api/alarms/{first}/resolve", json=closing) as r,
    ):
        assert r.status == 200
    base = pc.service.settings.notifications.public_url
    async with aiohttp.ClientSession(base) as client:
        status, page = await _open(client, old)
        assert status == 200  # closed, within a day: the page says so, no buttons
        assert "这起求助已处理完毕" in page
        assert "/take" not in page
        assert "高血压" not in page  # closed: no medical notes

        pc.clock.advance(24 * 3600)  # a day after the close: gone
        second = await press(pc, pc.city.terminals[1], "sos-new")
        pc.clock.advance(60)
        await wait_for(lambda: numbers_texted(pc).count(NIGHT_WORKER) == 2)
        new = link_in_sms(pc, NIGHT_WORKER, 1)
        assert new != old

        wrong = "/r/" + "x" * 22
        for path in (old, wrong, "/r/short", "/r/" + "A" * 300):
            status, page = await _open(client, path)
            assert status == 404, path
            assert "居民" not in page
            assert "链接无效或已过期" in page or path.endswith("A" * 300)
            status, _ = await _press(client, path, "take")
            assert status == 404
        # the old alarm's token never acts on the same worker's new alarm
        assert (await alarm(pc, second)).status == "open"
        status, _ = await _press(client, new, "dance")  # no such button
        assert status == 404
        status, page = await _press(client, new, "take")
        assert status == 200
        assert "居民2" in page
    assert (await alarm(pc, second)).acknowledged_by == "刘军"
    assert (await alarm(pc, first)).acknowledged_by is None


async def test_a_token_asked_too_often_is_refused(phone_city: PhoneCity) -> None:
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).never_answers()
    await press(pc, pc.city.terminals[0], "sos-busy")
    pc.clock.advance(60)
    await wait_for(lambda: NIGHT_WORKER in numbers_texted(pc))
    path = link_in_sms(pc, NIGHT_WORKER)
    async with aiohttp.ClientSession(pc.service.settings.notifications.public_url) as client:
        statuses = [(await _open(client, path))[0] for _ in range(31)]
        assert statuses == [200] * 30 + [429]
        pc.clock.advance(600)  # ten minutes on: the page opens again
        assert (await _open(client, path))[0] == 200
    async with pc.service.sessions() as session:
        a = await session.scalar(select(Alarm))
    assert a is not None
    assert a.status == "open"


async def test_a_provider_accepts_and_finishes_by_the_link(phone_city: PhoneCity) -> None:
    pc = phone_city
    meals = "+8613800000101"
    async with pc.service.sessions.begin() as session:
        session.add(
            Provider(
                id="p-meal", community_id="kangqiao", name="老年餐桌", category="meals", phone=meals
            )
        )
        await session.execute(
            update(Resident).where(Resident.id == "r-0001").values(service_default="meals")
        )
    async with raw_peer(MOSQUITTO, pc.service.settings.mqtt.topic_prefix) as peer:
        await peer.publish(pc.city.terminals[0], "event", event("meal-1", "service"))
        assert (await peer.next_ack())[1]["result"] == "accepted"
    await wait_for(lambda: meals in numbers_texted(pc))  # the default provider, at once
    path = link_in_sms(pc, meals)
    async with aiohttp.ClientSession(pc.service.settings.notifications.public_url) as client:
        status, page = await _open(client, path)
        assert status == 200
        assert "所需服务：助餐送餐" in page
        assert "高血压" not in page  # a provider never reads medical notes
        assert ">接单<" in page
        assert ">完成<" in page
        status, page = await _press(client, path, "take")
        assert "已记录：由您接单" in page
        async with pc.service.sessions() as session:
            a = await session.scalar(select(Alarm))
        assert a is not None
        assert (a.status, a.service_state, a.acknowledged_by) == (
            "acknowledged",
            "accepted",
            "老年餐桌",
        )
        status, page = await _press(client, path, "done")
        assert "已记录服务完成" in page
        assert "这起求助已处理完毕" in page
    async with pc.service.sessions() as session:
        a = await session.scalar(select(Alarm))
    assert a is not None
    assert (a.status, a.outcome) == ("resolved", "service_done")


async def test_where_the_terminal_said_it_was_before_the_home(phone_city: PhoneCity) -> None:
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).never_answers()
    await add_user(pc.service, "op1", Role.OPERATOR)
    async with pc.service.sessions.begin() as session:
        await session.execute(
            update(Resident).where(Resident.id == "r-0001").values(lat=36.6674, lon=116.972)
        )
    async with raw_peer(MOSQUITTO, pc.service.settings.mqtt.topic_prefix) as peer:
        # a fall in the park: the terminal says where
        outdoors = {"lat": 36.7012, "lon": 117.0031}
        await peer.publish(pc.city.terminals[0], "event", event("fall-out", "fall", loc=outdoors))
        assert (await peer.next_ack())[1]["result"] == "accepted"
    pc.clock.advance(60)
    await wait_for(lambda: NIGHT_WORKER in numbers_texted(pc))
    path = link_in_sms(pc, NIGHT_WORKER)
    async with aiohttp.ClientSession(pc.service.settings.notifications.public_url) as client:
        status, page = await _open(client, path)
    assert status == 200
    assert 'href="geo:36.701200,117.003100?q=36.701200,117.003100"' in page
    async with api_client(pc.service, "op1") as api, api.get("/api/map") as response:
        assert response.status == 200
        found = await response.json()
    [marker] = [m for m in found["markers"] if m["what"] == "alarm"]
    assert (marker["lat"], marker["lon"], marker["type"]) == (36.7012, 117.0031, "fall")
    assert found["extent"] == [36.6674, 116.972, 36.6674, 116.972]  # the homes'
    assert found["tiles"] is None
