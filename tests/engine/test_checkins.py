"""Daily check-ins over two days in 康桥, with the clock moved by hand, on both databases:
a missed check-in is raised once, at the window's end, and closed by a late press; a
press in time or a pause raises nothing; the worker on shift gets the morning list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatcher.app import Service
from dispatcher.city_file.edits import set_checkin
from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.store.models import Alarm, Notification, Resident
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.service import running, timeline_kinds

MOSQUITTO = ("127.0.0.1", 1883)
TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(2026, 12, day, hh, mm, ss, tzinfo=TZ)


async def missed(service: Service) -> list[Alarm]:
    async with service.sessions() as session:
        return list(
            await session.scalars(
                select(Alarm).where(Alarm.type == "missed_checkin").order_by(Alarm.id)
            )
        )


async def set_window(service: Service, resident_id: str, **fields: object) -> None:
    async with service.sessions.begin() as session:
        assert await set_checkin(
            session=session,
            resident_id=resident_id,
            fields=fields,
            now=service.clock.now(),
            tz=service.settings.city.tz,
        )


async def due_at(service: Service, resident_id: str) -> datetime | None:
    async with service.sessions() as session:
        return (await session.get_one(Resident, resident_id)).checkin_due_at


async def pressed(service: Service, resident_id: str, when: datetime) -> bool:
    async with service.sessions() as session:
        last = (await session.get_one(Resident, resident_id)).last_press_at
    return last is not None and last >= when


async def test_two_days_of_checkins(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    clock = ManualClock(at(1, 6))
    async with running(settings_for(db_url), clock=clock) as service:
        city = await seed_city(service.sessions)  # 居民1..3, day worker 张丽 08:00-20:00
        one, two, three = city.residents
        for resident in city.residents:
            await set_window(service, resident, window="07:00-10:00")
        await set_window(service, three, paused_until=date(2026, 12, 1), reason="住院")
        service.engine.wake()
        for resident in city.residents:  # the engine sets each deadline: today's end
            await wait_for(lambda r=resident: deadline_is(service, r, at(1, 10)))

        async with raw_peer(MOSQUITTO, topic_prefix) as peer:

            async def press(terminal: str, type_: str = "checkin") -> None:
                await peer.publish(terminal, "event", event(type_=type_))
                assert (await peer.next_ack())[1]["result"] == "accepted"

            clock.set(at(1, 8))
            await press(city.terminals[0])
            await wait_for(lambda: pressed(service, one, at(1, 8)))
            # a terminal's own report is no sign of life
            await press(city.terminals[1], "low_battery")

            clock.set(at(1, 9, 59, 59))
            await service.engine.run_once()
            assert await missed(service) == []
            clock.set(at(1, 10))  # 居民2 did not press; 居民3 is in hospital
            [alarm] = await wait_for(lambda: missed(service))
            assert (alarm.resident_id, alarm.kind, alarm.status) == (two, "checkin", "open")
            assert (alarm.community_id, alarm.device_id) == ("kangqiao", city.terminals[1])
            assert alarm.created_at == at(1, 10)  # within 60 s of the window's end: at once
            await wait_for(lambda: _kinds_include(service, alarm.id, "step_fired"))
            for _ in range(3):  # once a day, not once a pass
                await service.engine.run_once()
            assert len(await missed(service)) == 1
            assert await due_at(service, two) == at(2, 10)

            clock.set(at(1, 10, 30))  # the morning list to the worker on shift
            summary = await wait_for(lambda: _summaries(service))
            assert [(n.recipient_key, n.channel) for n in summary] == [("worker:w-day", "sms")]
            assert summary[0].body == {
                "community": "康桥社区",
                "date": "2026-12-01",
                "ok": 1,
                "missed": ["居民2"],
                "paused": 1,
                "waiting": 0,
            }
            await service.engine.run_once()
            assert len(await _summaries(service)) == 1  # once a day

            clock.set(at(1, 10, 45))  # 居民2 presses late: her missed check-in closes
            await press(city.terminals[1], "sos")
            closed = await wait_for(lambda: _closed(service, alarm.id))
            assert (closed.outcome, closed.resolved_by) == ("resident_checked_in", "resident")

            clock.set(at(2, 9))  # the next day 居民1 presses; the other two do not
            await press(city.terminals[0])
            await wait_for(lambda: pressed(service, one, at(2, 9)))
            clock.set(at(2, 10))
            await wait_for(lambda: n_missed(service, 3))
        day_two = (await missed(service))[1:]
        assert {a.resident_id for a in day_two} == {two, three}
        assert {a.created_at for a in day_two} == {at(2, 10)}


async def deadline_is(service: Service, resident_id: str, expected: datetime) -> bool:
    return await due_at(service, resident_id) == expected


async def n_missed(service: Service, n: int) -> bool:
    return len(await missed(service)) == n


async def _kinds_include(service: Service, alarm_id: int, kind: str) -> bool:
    return kind in await timeline_kinds(service, alarm_id)


async def _closed(service: Service, alarm_id: int) -> Alarm | None:
    async with service.sessions() as session:
        alarm = await session.get_one(Alarm, alarm_id)
    return alarm if alarm.status == "resolved" else None


async def _summaries(service: Service) -> list[Notification]:
    async with service.sessions() as session:
        return list(
            await session.scalars(
                select(Notification).where(Notification.purpose == "checkin_summary")
            )
        )


async def test_a_window_set_just_before_its_end_counts_today(
    db_url: str, settings_for: Callable[..., Settings]
) -> None:
    """A window's first deadline is taken at the change, not at the engine's next pass:
    a window 06:00-07:00 set at 06:59:30 while the engine is busy until after 07:00 is
    missed today, not first tomorrow (seen under load: the missed check-in never came)."""
    clock = ManualClock(at(1, 6, 59, 30))
    async with running(settings_for(db_url), clock=clock) as service:
        city = await seed_city(service.sessions)
        one = city.residents[0]
        async with service.engine._one_pass:  # the engine busy: none of its passes runs
            await set_window(service, one, window="06:00-07:00")
            clock.set(at(1, 7, 0, 30))
        [alarm] = await wait_for(lambda: missed(service))
        assert (alarm.resident_id, alarm.created_at) == (one, at(1, 7, 0, 30))
        assert await due_at(service, one) == at(2, 7)
