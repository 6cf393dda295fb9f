"""The engine's loop looks at every terminal and check-in only when they may have
changed (issue 12): in a city of 100,000 terminals a look costs the database ~100 ms,
and under a mass event every ingest batch wakes the engine for its new alarms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.service import running

MOSQUITTO = ("127.0.0.1", 1883)


async def test_new_alarms_wake_the_steps_and_a_power_report_the_terminals(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    clock = ManualClock(datetime(2026, 11, 29, 19, 0, tzinfo=UTC))
    async with running(settings_for(db_url), clock=clock) as service:
        engine = service.engine
        city = await seed_city(service.sessions)
        await wait_for(lambda: engine.terminal_looks >= 1)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            looks = engine.terminal_looks
            fired = engine.fired
            for device in city.terminals:
                await peer.publish(device, "event", event(type_="sos"))
                assert (await peer.next_ack())[1]["result"] == "accepted"
            # each new alarm's first step fires at once, the clock standing still
            await wait_for(lambda: engine.fired >= fired + len(city.terminals))
            assert engine.terminal_looks == looks

            # a power report is a reason to look, at once
            await peer.publish(city.terminals[0], "event", event(type_="power_lost"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
            await wait_for(lambda: engine.terminal_looks == looks + 1)

            # and time is: a second of the clock later the loop looks again
            clock.advance(1)
            await wait_for(lambda: engine.terminal_looks == looks + 2)
