"""The simulated terminal on the machine's real Mosquitto, with a tiny responder in the
test standing in for the backend."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import uuid
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from devices import protocol_v1 as p
from devices.events import (
    AckResult,
    Command,
    CommandType,
    EventType,
    Heartbeat,
    TerminalEvent,
)
from simulators.cli import main
from simulators.fleet import FleetPlan, FleetReport, fleet_ids, run_fleet
from simulators.terminal import SimulatedTerminal, parse_broker_url

pytestmark = pytest.mark.mosquitto

BROKER = "mqtt://127.0.0.1:1883"


class Peer:
    """An MQTT client of the test: what it receives lands in `messages`."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.messages: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()

    async def next(self, within: float = 5.0) -> aiomqtt.Message:
        async with asyncio.timeout(within):
            return await self.messages.get()


@contextlib.asynccontextmanager
async def peer(*filters: str) -> AsyncIterator[Peer]:
    host, port = parse_broker_url(BROKER)
    name = f"test-peer-{uuid.uuid4().hex[:8]}"
    async with aiomqtt.Client(host, port, identifier=name, username=name) as client:
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1)
        result = Peer(client)

        async def pump() -> None:
            async for message in client.messages:
                result.messages.put_nowait(message)

        task = asyncio.create_task(pump())
        try:
            yield result
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task


def payload_of(message: aiomqtt.Message) -> bytes:
    assert isinstance(message.payload, bytes)
    return message.payload


@pytest.fixture
def device_id() -> str:
    return f"T-{uuid.uuid4().hex[:12]}"


async def purge(prefix: str, device_id: str) -> None:
    """Remove what a terminal leaves on the shared broker: its persistent session (a
    clean-session connect under its client id ends it) and its retained status."""
    host, port = parse_broker_url(BROKER)
    async with aiomqtt.Client(
        host, port, identifier=f"terminal-{device_id}", username=device_id, clean_session=True
    ) as client:
        await client.publish(p.status_topic(prefix, device_id), b"", qos=1, retain=True)


@pytest.fixture
async def clear_status(topic_prefix: str, device_id: str) -> AsyncIterator[None]:
    yield
    await purge(topic_prefix, device_id)


@contextlib.asynccontextmanager
async def accepting_backend(prefix: str) -> AsyncIterator[collections.Counter[str]]:
    """Acks every event: `accepted` the first time, `duplicate` after; counts copies."""
    copies: collections.Counter[str] = collections.Counter()
    async with peer(f"{prefix}/terminals/+/event") as backend:

        async def respond() -> None:
            while True:
                message = await backend.messages.get()
                event = p.decode(message.topic.value, payload_of(message), prefix=prefix)
                assert isinstance(event, TerminalEvent)
                copies[event.event_id] += 1
                first = copies[event.event_id] == 1
                result = AckResult.ACCEPTED if first else AckResult.DUPLICATE
                ack = p.encode_ack(event.event_id, result)
                await backend.client.publish(p.ack_topic(prefix, event.device_id), ack, qos=1)

        responder = asyncio.create_task(respond())
        try:
            yield copies
        finally:
            responder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await responder


def terminal(prefix: str, device_id: str) -> SimulatedTerminal:
    # a clean session leaves nothing behind on the shared broker after the test
    return SimulatedTerminal(BROKER, prefix, device_id, clean_session=True, reconnect_s=0.2)


@pytest.mark.usefixtures("clear_status")
async def test_press_repeats_until_acked_and_returns_the_ack(
    topic_prefix: str, device_id: str
) -> None:
    copies: collections.Counter[str] = collections.Counter()
    seen: list[TerminalEvent] = []
    async with peer(f"{topic_prefix}/terminals/+/event") as backend:

        async def respond() -> None:
            # the backend stand-in: rejects `test` presses, acks others on their 2nd copy
            while True:
                message = await backend.messages.get()
                event = p.decode(message.topic.value, payload_of(message), prefix=topic_prefix)
                assert isinstance(event, TerminalEvent)
                seen.append(event)
                copies[event.event_id] += 1
                ack_topic = p.ack_topic(topic_prefix, event.device_id)
                if event.type is EventType.TEST:
                    ack = p.encode_ack(event.event_id, AckResult.REJECTED, "tests are off")
                elif copies[event.event_id] == 2:
                    ack = p.encode_ack(event.event_id, AckResult.ACCEPTED)
                else:
                    continue
                await backend.client.publish(ack_topic, ack, qos=1)

        responder = asyncio.create_task(respond())
        try:
            async with terminal(topic_prefix, device_id) as sim:
                ack = await sim.press(EventType.FALL, timeout=10, resend_every=0.3)
                assert ack.result is AckResult.ACCEPTED
                assert ack.reason is None
                assert copies[ack.event_id] >= 2
                first = next(e for e in seen if e.event_id == ack.event_id)
                assert (first.device_id, first.type) == (device_id, EventType.FALL)
                assert first.ts.utcoffset() is not None

                rejected = await sim.press(EventType.TEST, timeout=10, resend_every=5)
                assert (rejected.result, rejected.reason) == (AckResult.REJECTED, "tests are off")
                assert copies[rejected.event_id] == 1
        finally:
            responder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await responder


@pytest.mark.usefixtures("clear_status")
async def test_press_times_out_without_an_ack(topic_prefix: str, device_id: str) -> None:
    async with (
        peer(p.event_topic(topic_prefix, device_id)) as backend,
        terminal(topic_prefix, device_id) as sim,
    ):
        with pytest.raises(TimeoutError):
            await sim.press(timeout=0.5, resend_every=0.1)
        copies = [await backend.next() for _ in range(3)]  # it kept repeating
        assert len({payload_of(m) for m in copies}) == 1


@pytest.mark.usefixtures("clear_status")
async def test_online_is_retained_and_the_last_will_says_offline(
    topic_prefix: str, device_id: str
) -> None:
    status = p.status_topic(topic_prefix, device_id)
    sim = terminal(topic_prefix, device_id)
    async with sim:
        async with peer(status) as watcher:  # subscribes after the terminal connected
            online = await watcher.next()
            assert (payload_of(online), online.retain) == (b"online", True)
            await sim.drop()  # no DISCONNECT: the broker must publish the will
            offline = await watcher.next()
            assert payload_of(offline) == b"offline"
        assert not sim.online
        async with peer(status) as late:
            retained = await late.next()
            assert (payload_of(retained), retained.retain) == (b"offline", True)


@pytest.mark.usefixtures("clear_status")
async def test_clean_exit_announces_offline(topic_prefix: str, device_id: str) -> None:
    async with peer(p.status_topic(topic_prefix, device_id)) as watcher:
        async with terminal(topic_prefix, device_id):
            assert payload_of(await watcher.next()) == b"online"
        assert payload_of(await watcher.next()) == b"offline"


@pytest.mark.usefixtures("clear_status")
async def test_commands_resend_raw_input_and_heartbeats(topic_prefix: str, device_id: str) -> None:
    heartbeats = p.heartbeat_topic(topic_prefix, device_id)
    events = p.event_topic(topic_prefix, device_id)
    async with peer(events, heartbeats) as backend, terminal(topic_prefix, device_id) as sim:
        command = Command(CommandType.HELP_COMING, "a-1", "张丽五分钟后到")
        await backend.client.publish(
            p.command_topic(topic_prefix, device_id),
            p.encode_command(command.type, command.alarm_id, command.text),
            qos=1,
        )
        assert await sim.next_command(timeout=5) == command
        assert sim.commands == [command]

        await sim.heartbeat()
        beat = await backend.next()
        assert beat.topic.value == heartbeats
        decoded = p.decode(heartbeats, payload_of(beat), prefix=topic_prefix)
        assert isinstance(decoded, Heartbeat)
        assert (decoded.device_id, decoded.battery) == (device_id, sim.battery)

        event = sim.make_event(EventType.SOS)
        ack_topic = p.ack_topic(topic_prefix, device_id)
        await sim.resend(event)
        assert payload_of(await backend.next()) == p.encode_event(event)
        await backend.client.publish(ack_topic, p.encode_ack(event.event_id, AckResult.ACCEPTED))
        assert (await sim.await_ack(event.event_id, timeout=5)).result is AckResult.ACCEPTED
        await sim.resend(event)  # a repeat forgets the earlier ack and waits for its own
        await backend.next()
        await backend.client.publish(ack_topic, p.encode_ack(event.event_id, AckResult.DUPLICATE))
        assert (await sim.await_ack(event.event_id, timeout=5)).result is AckResult.DUPLICATE

        await sim.send_raw(b"not json")
        assert payload_of(await backend.next()) == b"not json"


def test_bad_arguments_fail_early() -> None:
    with pytest.raises(ValueError, match="bad device_id"):
        SimulatedTerminal(BROKER, "eldercare", "T 1")
    with pytest.raises(ValueError, match="mqtt://host:port"):
        SimulatedTerminal("http://127.0.0.1", "eldercare", "T-1")
    assert parse_broker_url("mqtt://example.org") == ("example.org", 1883)


async def test_unreachable_broker_is_a_clear_connection_error() -> None:
    sim = SimulatedTerminal("mqtt://127.0.0.1:9", "eldercare", "T-1", connect_timeout=3)
    with pytest.raises(ConnectionError, match="cannot connect to MQTT broker"):
        await sim.__aenter__()


async def test_fleet_presses_heartbeats_and_reports(topic_prefix: str) -> None:
    ids = [f"F-{uuid.uuid4().hex[:8]}-{i}" for i in range(20)]
    plan = FleetPlan(
        BROKER,
        topic_prefix,
        ids,
        duration_s=1.5,
        heartbeat_s=0.5,
        press_rate=2 * 3600,  # two a second per terminal
        resend_every=0.5,
        seed=7,
        clean_session=True,
    )
    try:
        async with accepting_backend(topic_prefix) as copies:
            report = await run_fleet(plan)
    finally:
        await asyncio.gather(*(purge(topic_prefix, device_id) for device_id in ids))
    assert (report.terminals, report.connected, report.connect_failures) == (20, 20, 0)
    assert report.ok
    assert report.presses > 20
    assert report.acks["accepted"] + report.acks["duplicate"] == report.presses
    assert len(copies) == report.presses  # each press is one distinct event
    assert report.heartbeats > 0
    p50, p99 = report.percentile(50), report.percentile(99)
    assert p50 is not None
    assert p99 is not None
    assert 0 < p50 <= p99 < plan.press_timeout
    assert "ack latency: p50" in report.summary()


def test_fleet_report_percentiles_and_ids() -> None:
    report = FleetReport(terminals=1, duration_s=1, latencies=[0.4, 0.1, 0.3, 0.2])
    assert (report.percentile(50), report.percentile(99), report.percentile(0)) == (0.2, 0.4, 0.1)
    assert FleetReport(terminals=0, duration_s=1).percentile(50) is None
    assert fleet_ids(3) == ["T-000001", "T-000002", "T-000003"]


def test_cli_terminal_exit_codes(topic_prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    device_id = f"T-{uuid.uuid4().hex[:12]}"
    # the machine's broker takes anyone: any password will do
    common = ["--broker", BROKER, "--prefix", topic_prefix, "--password", "unused"]
    try:
        # nobody answers on this prefix: timeout
        args = ["terminal", device_id, "--press", "sos", "--timeout", "0.5", *common]
        assert main(args) == 2
        assert "timeout: no ack within 0.5 s" in capsys.readouterr().err
        assert main(["terminal", device_id, "--heartbeat", *common]) == 0
        assert capsys.readouterr().out == "heartbeat sent\n"
    finally:
        asyncio.run(purge(topic_prefix, device_id))
    unreachable = ["--broker", "mqtt://127.0.0.1:9", "--password", "unused"]
    assert main(["terminal", device_id, "--press", "sos", *unreachable]) == 3
    assert "cannot connect to MQTT broker" in capsys.readouterr().err
    assert main(["terminal", device_id]) == 2  # nothing to do
