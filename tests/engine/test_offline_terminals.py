"""A terminal that stops its heartbeats cannot call for help: the operators get a device
alarm, closed by itself when the terminal is back. A terminal alone waits the outage
window (`outage.window_s`, 120 s) first, in case its community is losing many at once
(tests/engine/test_outages.py)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatcher.app import Service
from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.store.models import Alarm, Terminal
from harness.city import seed_city
from harness.mqtt import raw_peer, wait_for
from harness.service import running

MOSQUITTO = ("127.0.0.1", 1883)
AT_3AM = datetime(2026, 11, 27, 3, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
HOLD_S = 120  # outage.window_s
BEAT = json.dumps({"v": 1, "ts": "2026-11-27T03:00:00+08:00", "battery": 80})


async def offline_alarms(service: Service) -> list[Alarm]:
    async with service.sessions() as session:
        return list(await session.scalars(select(Alarm).where(Alarm.type == "offline")))


async def beat_seen(service: Service, device_id: str, after: datetime) -> bool:
    async with service.sessions() as session:
        terminal = await session.get_one(Terminal, device_id)
    return terminal.last_heartbeat is not None and terminal.last_heartbeat >= after


async def test_three_missed_heartbeats_open_a_device_alarm_that_closes_itself(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    clock = ManualClock(AT_3AM)
    async with running(settings_for(db_url), clock=clock) as service:
        city = await seed_city(service.sessions)
        beating, silent_always = city.terminals[0], city.terminals[1]
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish(beating, "heartbeat", BEAT)
            await wait_for(lambda: beat_seen(service, beating, AT_3AM))

            clock.advance(179 + HOLD_S)
            await service.engine.run_once()
            assert await offline_alarms(service) == []
            clock.advance(1)  # three 60 s periods without a word, and the outage window
            await wait_for(lambda: offline_alarms(service))
            [alarm] = await offline_alarms(service)
            assert (alarm.device_id, alarm.kind, alarm.status) == (beating, "device", "open")
            # a terminal that never sent a heartbeat raises nothing
            assert silent_always not in {a.device_id for a in await offline_alarms(service)}
            await service.engine.run_once()
            assert len(await offline_alarms(service)) == 1  # once, not once a pass

            back_at = clock.now()
            await peer.publish(beating, "heartbeat", BEAT)
            await wait_for(lambda: beat_seen(service, beating, back_at))
        await service.engine.run_once()
        [alarm] = await offline_alarms(service)
        assert (alarm.status, alarm.outcome) == ("resolved", "device_recovered")


async def test_a_last_will_opens_the_alarm_after_a_period(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    clock = ManualClock(AT_3AM)
    async with running(settings_for(db_url), clock=clock) as service:
        city = await seed_city(service.sessions)
        device = city.terminals[0]
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish(device, "heartbeat", BEAT)
            await wait_for(lambda: beat_seen(service, device, AT_3AM))
            await peer.publish(device, "status", "offline")

            async def said_offline() -> bool:
                async with service.sessions() as session:
                    return not (await session.get_one(Terminal, device)).connected

            await wait_for(said_offline)
        clock.advance(59 + HOLD_S)
        await service.engine.run_once()
        assert await offline_alarms(service) == []
        clock.advance(1)
        await wait_for(lambda: offline_alarms(service))


async def test_a_retained_online_does_not_bring_a_hung_terminal_back(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    """A hung terminal keeps its retained `online` at the broker (no last will while its
    connection stays up). Each time the dispatcher connects again the broker sends that
    status again: it must not count as a sign of life, or the offline alarm closes."""
    settings = settings_for(db_url)
    clock = ManualClock(AT_3AM)
    async with raw_peer(MOSQUITTO, topic_prefix) as peer:
        async with running(settings, clock=clock) as service:
            city = await seed_city(service.sessions)
            hung = city.terminals[0]
            await peer.publish(hung, "status", "online", retain=True)
            await peer.publish(hung, "heartbeat", BEAT)
            await wait_for(lambda: beat_seen(service, hung, AT_3AM))
            clock.advance(180 + HOLD_S)  # three missed beats, then alone for the outage window
            await wait_for(lambda: offline_alarms(service))
        try:
            for _ in range(2):  # the dispatcher restarts, or its connection comes back
                async with running(settings, clock=clock) as service:
                    await wait_for(lambda: service.liveness.processed >= 1)  # the retained one
                    await service.heartbeats.flush()
                    clock.advance(30)
                    await service.engine.run_once()
                    [alarm] = await offline_alarms(service)
                    assert alarm.status == "open"
                    async with service.sessions() as session:
                        assert (await session.get_one(Terminal, hung)).connected

            # a heartbeat is a sign of life: the alarm closes
            async with running(settings, clock=clock) as service:
                back_at = clock.now()
                await peer.publish(hung, "heartbeat", BEAT)
                await wait_for(lambda: beat_seen(service, hung, back_at))
                await service.engine.run_once()
                [alarm] = await offline_alarms(service)
                assert (alarm.status, alarm.outcome) == ("resolved", "device_recovered")
        finally:
            await peer.publish(hung, "status", b"", retain=True)  # the broker forgets it


async def test_a_hung_terminal_reconnecting_in_a_loop_goes_offline(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    """Its connection drops and comes back, each time with its last will and a fresh
    (not retained) `online`, and never a heartbeat: connecting is no sign of life."""
    clock = ManualClock(AT_3AM)
    async with running(settings_for(db_url), clock=clock) as service:
        city = await seed_city(service.sessions)
        hung = city.terminals[0]
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish(hung, "heartbeat", BEAT)
            await wait_for(lambda: beat_seen(service, hung, AT_3AM))
            for _ in range(8):  # 8 reconnections, 40 s apart: past 180 s and the window
                clock.advance(40)
                await peer.publish(hung, "status", "offline")
                await peer.publish(hung, "status", "online")
                await wait_for(functools.partial(_reconnected, service, hung, clock.now()))
        async with service.sessions() as session:
            terminal = await session.get_one(Terminal, hung)
        assert terminal.connected  # it says so...
        assert terminal.last_seen is not None
        assert terminal.last_seen <= AT_3AM  # ...but was last heard from at its heartbeat
        await wait_for(lambda: offline_alarms(service))
        [alarm] = await offline_alarms(service)
        assert (alarm.device_id, alarm.status) == (hung, "open")


async def _reconnected(service: Service, device_id: str, at: datetime) -> bool:
    """Its `online` of `at` is written (flushed now, not at the batcher's period)."""
    await service.heartbeats.flush()
    async with service.sessions() as session:
        terminal = await session.get_one(Terminal, device_id)
    changed = terminal.status_changed_at
    return terminal.connected and changed is not None and changed >= at
