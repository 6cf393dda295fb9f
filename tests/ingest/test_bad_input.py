"""Bad input never holds up a real press (issue 9 §2, §4), on the real Mosquitto and on
both databases: bytes no database column takes, sent in the same batch as an SOS, and a
terminal that repeats a bad event without end."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.store.event_log import raw_bytes
from dispatcher.store.models import Alarm, EventLog
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.service import count, running

MOSQUITTO = ("127.0.0.1", 1883)
SettingsFor = Callable[..., Settings]
AT_3AM = datetime(2026, 11, 27, 3, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _data(row: EventLog) -> dict[str, Any]:
    assert row.data is not None
    return row.data


def _payload(row: EventLog) -> bytes:
    assert row.raw is not None
    return raw_bytes(row.raw, escaped=_data(row).get("raw_escaped", False))


async def test_a_nul_byte_next_to_an_sos_is_logged_and_the_sos_acked(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    # a long batch window: whatever arrives within it is written in one transaction
    settings = settings_for(db_url, ingest={"batch_window_s": 0.5})
    async with running(settings) as service:
        city = await seed_city(service.sessions)
        t1, t2 = city.terminals[:2]
        with_nul = event("nul-1")[:-1] + b', "note": "a\x00b", "bad": "\xff"}'
        escaped_nul = event("nul-2", type_="sos\u0000")  # JSON's \u0000: a NUL in the type
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish(t1, "event", with_nul)
            await peer.publish(t1, "event", escaped_nul)
            await peer.publish("T\u00e9", "event", event("bad-topic"))  # not a device id
            await peer.publish(t2, "event", event("real-sos"))
            await peer.publish(t1, "heartbeat", b"\x00\x00")  # the other path, same care
            acks = {(await peer.next_ack())[1]["event_id"] for _ in range(2)}
            assert acks == {"nul-2", "real-sos"}  # nul-1 is not JSON: no event_id to answer
            await wait_for(lambda: service.liveness.processed >= 1)
            await service.heartbeats.flush()
        assert await count(service, Alarm, Alarm.device_id == t2) == 1
        async with service.sessions() as session:
            rows = await session.scalars(select(EventLog).where(EventLog.kind == "rejected"))
            by_payload = {_payload(row): row for row in rows}
        assert set(by_payload) == {with_nul, escaped_nul, event("bad-topic"), b"\x00\x00"}
        assert by_payload[with_nul].event_id is None
        assert "unknown event type" in _data(by_payload[escaped_nul])["reason"]
        assert _data(by_payload[b"\x00\x00"])["topic"] == f"{topic_prefix}/terminals/{t1}/heartbeat"


async def test_a_terminal_repeating_a_bad_event_is_logged_in_full_a_few_times(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    settings = settings_for(db_url, ingest={"rejections_logged": 3, "rejections_window_s": 3600})
    clock = ManualClock(AT_3AM)
    async with running(settings, clock=clock) as service:
        city = await seed_city(service.sessions)
        buggy, good = city.terminals[:2]
        bad = event("stuck-1", type_="explode")
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            for _ in range(20):  # every repeat is still answered
                await peer.publish(buggy, "event", bad)
                _, ack = await peer.next_ack()
                assert (ack["event_id"], ack["result"]) == ("stuck-1", "rejected")
            for _ in range(10):  # and bad heartbeats of the same terminal count too
                await peer.publish(buggy, "heartbeat", b"{not json")
            await peer.publish(good, "event", event("ok-1"))
            assert (await peer.next_ack())[1] == {"event_id": "ok-1", "result": "accepted"}
            await wait_for(lambda: service.liveness.processed >= 1)
            await service.heartbeats.flush()

        rejected = EventLog.kind == "rejected"
        assert await count(service, EventLog, rejected) == 3
        clock.advance(3600)  # the window is over: one line with the count
        await wait_for(lambda: count(service, EventLog, EventLog.kind == "rejected_repeats"))
        async with service.sessions() as session:
            summary = await session.scalar(
                select(EventLog).where(EventLog.kind == "rejected_repeats")
            )
        assert summary is not None
        assert summary.device_id == buggy
        assert summary.data is not None
        # 17 more events, and the heartbeats (the latest of a topic replaces a waiting one)
        assert summary.data["count"] >= 18
        assert summary.data["reasons"]["unknown event type 'explode'"] == 17
        assert json.loads(json.dumps(summary.data)) == summary.data


async def test_an_unknown_terminal_repeating_events_is_logged_in_full_a_few_times(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    """A terminal not in the city (not loaded yet, or removed) that keeps pressing: each
    press answered rejected, the first few logged in full, the rest counted."""
    settings = settings_for(db_url, ingest={"rejections_logged": 3, "rejections_window_s": 3600})
    clock = ManualClock(AT_3AM)
    async with running(settings, clock=clock) as service:
        city = await seed_city(service.sessions)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            for n in range(12):
                await peer.publish("T-GHOST", "event", event(f"ghost-{n}"))
                _, ack = await peer.next_ack()
                assert (ack["event_id"], ack["result"]) == (f"ghost-{n}", "rejected")
                assert ack["reason"] == "unknown terminal T-GHOST"
            # another unknown terminal has a limit of its own; a known one is not held up
            await peer.publish("T-OTHER", "event", event("other-1"))
            assert (await peer.next_ack())[1]["result"] == "rejected"
            await peer.publish(city.terminals[0], "event", event("ok-1"))
            assert (await peer.next_ack())[1] == {"event_id": "ok-1", "result": "accepted"}
        rejected = EventLog.kind == "rejected"
        assert await count(service, EventLog, rejected, EventLog.device_id == "T-GHOST") == 3
        assert await count(service, EventLog, rejected, EventLog.device_id == "T-OTHER") == 1
        clock.advance(3600)
        await wait_for(lambda: count(service, EventLog, EventLog.kind == "rejected_repeats"))
        async with service.sessions() as session:
            summary = await session.scalar(
                select(EventLog).where(EventLog.kind == "rejected_repeats")
            )
        assert summary is not None
        assert summary.device_id == "T-GHOST"
        assert summary.data is not None
        assert summary.data["count"] == 9
        assert summary.data["reasons"] == {"unknown terminal T-GHOST": 9}
