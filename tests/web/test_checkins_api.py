"""The daily-care API beside the alarm path: supervisors set a resident's check-in
window and pause, everyone sees today's list; and relatives are told only when the city
wants it (`notifications.tell_contacts`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select

from dispatcher.config import Settings
from dispatcher.store.models import Notification, Resident
from dispatcher.users.accounts import Role
from harness.city import new_sos, seed_city
from tests.web.helpers import bearer, web_only

SettingsFor = Callable[..., Settings]


async def test_supervisors_set_windows_and_pauses_and_everyone_sees_today(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(sqlite_url)) as w:
        await seed_city(w.sessions, residents=2)
        await w.add_user("op1", Role.OPERATOR)
        await w.add_user("sup1", Role.SUPERVISOR)
        await w.add_user("boss", Role.ADMIN)
        op, sup, boss = [
            {"Authorization": f"Bearer {await bearer(w.client, name)}"}
            for name in ("op1", "sup1", "boss")
        ]
        url = "/api/residents/r-0001/checkin"
        async with w.client.put(url, json={"window": "07:00-10:00"}, headers=op) as response:
            assert response.status == 403
        async with w.client.put(url, json={"window": "7-10"}, headers=sup) as response:
            assert response.status == 422
            assert (await response.json())["errors"][0]["field"] == "window"
        async with w.client.put(
            "/api/residents/nobody/checkin", json={"window": "07:00-10:00"}, headers=sup
        ) as response:
            assert response.status == 404
        async with w.client.put(url, json={"window": "07:00-10:00"}, headers=sup) as response:
            assert response.status == 200
            assert (await response.json())["window"] == "07:00-10:00"
        body = {"paused_until": "2026-12-09", "reason": "住院"}
        async with w.client.put(url, json=body, headers=sup) as response:
            answer = await response.json()
        assert (answer["window"], answer["state"], answer["pause_reason"]) == (
            "07:00-10:00",
            "paused",
            "住院",
        )
        async with w.client.get("/api/checkins?community=kangqiao", headers=op) as response:
            [line] = await response.json()  # only residents with a window
        assert (line["resident_id"], line["state"], line["paused_until"]) == (
            "r-0001",
            "paused",
            "2026-12-09",
        )

        # an administrator's edit of the card says nothing of the check-in: it stays
        card = {"name": "王秀英", "community": "kangqiao", "address": "天桥区纬北路12号"}
        async with w.client.put("/api/residents/r-0001", json=card, headers=boss) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["checkin"]["window"] == "07:00-10:00"
        async with w.sessions() as session:
            r = await session.get_one(Resident, "r-0001")
        assert (r.name, r.checkin_window, r.checkin_paused_until) == (
            "王秀英",
            "07:00-10:00",
            date(2026, 12, 9),
        )


async def test_relatives_are_told_only_when_the_city_wants_it(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    for tell in (False, True):
        settings = settings_for(sqlite_url, notifications={"tell_contacts": tell})
        async with web_only(settings) as w:
            if not tell:
                await seed_city(w.sessions, residents=1)
                await w.add_user("op1", Role.OPERATOR)
            async with w.sessions.begin() as session:
                alarm = new_sos(w.clock.now())
                session.add(alarm)
            headers = {"Authorization": f"Bearer {await bearer(w.client, 'op1')}"}
            async with w.client.post(f"/api/alarms/{alarm.id}/ack", headers=headers) as response:
                assert response.status == 200
            async with w.sessions() as session:
                told = list(
                    await session.scalars(
                        select(Notification.recipient_key).where(
                            Notification.alarm_id == alarm.id,
                            Notification.purpose == "told_taken",
                        )
                    )
                )
            assert len(told) == (1 if tell else 0)  # contact 1, always told when telling
