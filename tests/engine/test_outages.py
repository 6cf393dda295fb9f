"""A power cut in 康桥, with the clock moved by hand, on both databases: 40 terminals
that lose power within a minute make one outage alarm, not 40, which holds them while
they are down (no alarm of their own, not even when their batteries die) and closes
itself when all are back. A terminal that loses power alone raises its own alarm after
the outage window."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatcher.app import Service
from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.store.models import Alarm, EventLog, OutageMember, Terminal
from dispatcher.users.accounts import Role
from harness.city import seed_city
from harness.mqtt import RawPeer, event, raw_peer, wait_for
from harness.service import add_user, api_client, running, timeline_kinds

MOSQUITTO = ("127.0.0.1", 1883)
AT_2AM = datetime(2026, 12, 1, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BEAT = json.dumps({"v": 1, "ts": "2026-12-01T02:00:00+08:00", "power": "mains"})


async def alarms(service: Service) -> list[Alarm]:
    async with service.sessions() as session:
        return list(await session.scalars(select(Alarm).order_by(Alarm.id)))


async def held(service: Service) -> int:
    async with service.sessions() as session:
        rows = await session.scalars(select(OutageMember).where(OutageMember.left_at.is_(None)))
        return len(list(rows))


async def beats_seen(service: Service, devices: list[str], after: datetime) -> bool:
    async with service.sessions() as session:
        rows = await session.scalars(select(Terminal).where(Terminal.device_id.in_(devices)))
        return all(t.last_seen is not None and t.last_seen >= after for t in rows)


async def send(peer: RawPeer, devices: list[str], kind: str, payload: Any = None) -> None:
    """Each terminal's message; events are acknowledged accepted."""
    for device in devices:
        if kind == "event":
            await peer.publish(device, "event", payload(device))
        else:
            await peer.publish(device, kind, payload)
    if kind == "event":
        for _ in devices:
            assert (await peer.next_ack())[1]["result"] == "accepted"


async def test_forty_terminals_losing_power_make_one_outage(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    clock = ManualClock(AT_2AM)
    async with running(settings_for(db_url), clock=clock, http=True) as service:
        city = await seed_city(service.sessions, residents=40)
        forty = city.terminals
        await add_user(service, "op1", Role.OPERATOR)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await send(peer, city.terminals, "heartbeat", BEAT)
            await wait_for(lambda: beats_seen(service, city.terminals, AT_2AM))

            def lost(device: str) -> bytes:
                return event(f"lost-{device}", "power_lost")

            for quarter in range(4):  # ten more every 15 s: 40 within a minute
                await send(peer, forty[quarter * 10 : quarter * 10 + 10], "event", lost)
                await service.engine.run_once()
                clock.advance(15)
            [outage] = await wait_for(lambda: alarms(service))
            assert (outage.kind, outage.type, outage.status) == ("device", "outage", "open")
            assert (outage.community_id, outage.resident_id, outage.device_id) == (
                "kangqiao",
                None,
                None,
            )
            await wait_for(lambda: _held_is(service, 40))

            # ten minutes on: past every hold, batteries dead (no heartbeats), yet no
            # terminal of the outage raised an alarm of its own
            clock.advance(600)
            for _ in range(2):
                await service.engine.run_once()
            assert [a.type for a in await alarms(service)] == ["outage"]
            assert await held(service) == 40

            async with api_client(service, "op1") as api:
                async with api.get(f"/api/alarms/{outage.id}") as response:
                    detail = await response.json()
                assert (detail["members"], len(detail["member_ids"])) == (40, 40)
                async with api.get(f"/api/alarms/{outage.id}/context") as response:
                    view = await response.json()
                assert len(view["outage_members"]) == 40
                assert view["community"] == "康桥社区"

                # power comes back: all but one report it and beat again
                back_at = clock.now()
                await send(
                    peer, forty[:39], "event", lambda d: event(f"back-{d}", "power_restored")
                )
                await send(peer, forty[:39], "heartbeat", BEAT)
                await wait_for(lambda: beats_seen(service, forty[:39], back_at))
                await service.engine.run_once()  # the clock stands still: look now
                assert await held(service) == 1
                async with api.get("/api/alarms?status=open") as response:
                    [line] = await response.json()
                assert (line["id"], line["members"]) == (outage.id, 1)

                await send(
                    peer, forty[39:], "event", lambda d: event(f"back-{d}", "power_restored")
                )
                await send(peer, forty[39:], "heartbeat", BEAT)
                await wait_for(lambda: beats_seen(service, forty[39:], back_at))
                await service.engine.run_once()
                closed = await wait_for(lambda: _resolved(service, outage.id))
        assert (closed.outcome, closed.resolved_by) == ("resolved_itself", "engine")
        kinds = await timeline_kinds(service, outage.id)
        assert (kinds.count("outage_joined"), kinds.count("outage_left")) == (40, 40)
        assert [a.type for a in await alarms(service)] == ["outage"]


async def test_one_terminal_losing_power_raises_its_own_after_the_window(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    clock = ManualClock(AT_2AM)
    async with running(settings_for(db_url), clock=clock) as service:
        city = await seed_city(service.sessions, residents=1)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await send(peer, city.terminals, "event", lambda d: event("lost", "power_lost"))
            clock.advance(119)
            await service.engine.run_once()
            assert await alarms(service) == []
            clock.advance(1)
            [alarm] = await wait_for(lambda: alarms(service))
            assert (alarm.type, alarm.device_id, alarm.community_id) == (
                "power_lost",
                city.terminals[0],
                "kangqiao",
            )
            async with service.sessions() as session:
                opened = await session.scalar(
                    select(EventLog).where(
                        EventLog.alarm_id == alarm.id, EventLog.kind == "alarm_opened"
                    )
                )
            assert opened is not None
            assert opened.data is not None
            # when it lost power: its alarm was held for the outage window
            assert datetime.fromisoformat(opened.data["since"]) == AT_2AM
            await send(peer, city.terminals, "event", lambda d: event("back", "power_restored"))
            closed = await wait_for(lambda: _resolved(service, alarm.id))
        assert closed.outcome == "device_recovered"


async def _held_is(service: Service, n: int) -> bool:
    return await held(service) == n


async def _resolved(service: Service, alarm_id: int) -> Alarm | None:
    async with service.sessions() as session:
        alarm = await session.get_one(Alarm, alarm_id)
    return alarm if alarm.status == "resolved" else None
