"""The alarm path on the real Mosquitto, on SQLite and PostgreSQL: a press becomes one
alarm and an ack; repeats, bad input, restarts and heartbeats behave as protocol v1 says."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from dispatcher.app import Service
from dispatcher.config import Settings
from dispatcher.store.models import Alarm, EventLog, Terminal
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for

MOSQUITTO = ("127.0.0.1", 1883)
SettingsFor = Callable[..., Settings]


async def _count(service: Service, model: Any, *where: Any) -> int:
    async with service.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _service(settings: Settings) -> Service:
    service = Service(settings, serve_http=False)
    await service.__aenter__()
    await wait_for(lambda: service.broker_connected)
    return service


async def test_press_opens_one_alarm_and_repeat_is_duplicate(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    service = await _service(settings_for(db_url))
    try:
        city = await seed_city(service.sessions)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            press = event("press-1")
            await peer.publish(city.terminals[0], "event", press)
            device, ack = await peer.next_ack()
            assert (device, ack) == (
                city.terminals[0],
                {"event_id": "press-1", "result": "accepted"},
            )
            await peer.publish(city.terminals[0], "event", press)
            _, again = await peer.next_ack()
            assert again == {"event_id": "press-1", "result": "duplicate"}

        assert await _count(service, Alarm) == 1
        async with service.sessions() as session:
            alarm = await session.scalar(select(Alarm))
        assert alarm is not None
        assert (alarm.resident_id, alarm.kind, alarm.status) == ("r-0001", "emergency", "open")
        assert await _count(service, EventLog, EventLog.kind == "device_event") == 1
    finally:
        await service.__aexit__(None, None, None)


async def test_bad_input_is_rejected_logged_and_listener_lives_on(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    service = await _service(settings_for(db_url))
    try:
        city = await seed_city(service.sessions)
        t1 = city.terminals[0]
        big = json.loads(event("big-1"))
        big["pad"] = "x" * 5000
        cases: list[tuple[str, bytes, str | None, str]] = [
            (t1, b"{not json", None, ""),
            (t1, json.dumps(big).encode(), "big-1", "4096"),
            (t1, event("odd-1", type_="explode"), "odd-1", "explode"),
            ("T-9999", event("ghost-1"), "ghost-1", "unknown terminal"),
            (
                t1,
                json.dumps({"v": 1, "event_id": "nots-1", "type": "sos"}).encode(),
                "nots-1",
                "ts",
            ),
        ]
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            for device, payload, event_id, reason_part in cases:
                await peer.publish(device, "event", payload)
                if event_id is None:
                    continue  # nothing to answer: no event_id can be read
                got_device, ack = await peer.next_ack()
                assert got_device == device
                assert ack["event_id"] == event_id
                assert ack["result"] == "rejected"
                assert reason_part in ack["reason"]
            # still alive: a good press after all that is accepted
            await peer.publish(t1, "event", event("good-1"))
            _, ack = await peer.next_ack()
            assert ack == {"event_id": "good-1", "result": "accepted"}

        assert await _count(service, EventLog, EventLog.kind == "rejected") == len(cases)
        async with service.sessions() as session:
            raws = list(
                await session.scalars(select(EventLog.raw).where(EventLog.kind == "rejected"))
            )
        assert "{not json" in raws
        assert await _count(service, Alarm) == 1
    finally:
        await service.__aexit__(None, None, None)


async def test_press_while_dispatcher_down_arrives_after_restart(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    settings = settings_for(db_url)
    service = await _service(settings)
    city = await seed_city(service.sessions)
    await service.__aexit__(None, None, None)  # the dispatcher stops; its session stays

    async with raw_peer(MOSQUITTO, topic_prefix) as peer:
        # sent once, not repeated: only the broker's queue can bring it to the dispatcher
        await peer.publish(city.terminals[1], "event", event("while-down"))
        service = await _service(settings)
        try:
            device, ack = await peer.next_ack(within=15)
            assert (device, ack) == (
                city.terminals[1],
                {"event_id": "while-down", "result": "accepted"},
            )
            assert await _count(service, Alarm, Alarm.resident_id == "r-0002") == 1
        finally:
            await service.__aexit__(None, None, None)


async def test_heartbeats_update_liveness_in_batches(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    service = await _service(settings_for(db_url))
    try:
        city = await seed_city(service.sessions, residents=5)
        beats_each = 20
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            for n in range(beats_each):
                for device in city.terminals:
                    beat = {"v": 1, "ts": "2026-11-27T03:00:00+08:00", "battery": 90 - n}
                    await peer.publish(device, "heartbeat", json.dumps(beat))
            await peer.publish(city.terminals[0], "status", "online", retain=False)

        total = beats_each * len(city.terminals) + 1

        async def all_seen() -> bool:
            async with service.sessions() as session:
                rows = (await session.scalars(select(Terminal))).all()
            return all(t.last_seen is not None and t.battery == 90 - (beats_each - 1) for t in rows)

        await wait_for(all_seen)
        # one write per terminal per flush, not one per heartbeat
        assert service.heartbeats.rows_written < total
        assert service.heartbeats.rows_written >= len(city.terminals)
    finally:
        await service.__aexit__(None, None, None)
