"""How fast the whole dispatcher takes terminal events and heartbeats over MQTT. A
benchmark, not a test.

    .venv/bin/python -m bench.ingest_bench [--db sqlite|postgres] [--terminals 2000]
        [--events 5000] [--heartbeats 20000]

It starts its own Mosquitto with `deploy/mosquitto.conf` on a free port (the machine's
broker runs the stock configuration, which drops QoS 1 past 1,000 queued: docs/stack-notes.md),
with accounts for the dispatcher and for the load, which speaks for every terminal
(the terminals' TLS listener is left out: the figures are of ingest, as before),
makes a fresh database (a temporary SQLite file, or `bench_<hex>` on the machine's
PostgreSQL, dropped at the end), loads a generated city of N residents with a terminal
each, and runs a `Service` on them (MQTT 5, persistent session: the city path). The
terminals' side runs in a separate process, so that it does not share the dispatcher's
event loop: a few aiomqtt publisher clients, QoS 1, in flight bounded by a semaphore,
and one client subscribed to `{prefix}/terminals/+/ack`. Then:

(a) events: E distinct events (sos, service, test in turn) over the N terminals, each
    with a unique event_id, published as fast as possible; every ack awaited (with a
    deadline). Events/s end to end (first publish -> last ack), ack latency (publish ->
    its ack), the results, and the database counted against what the events must have
    done (event log rows, duplicates in it, alarms opened). The escalation engine and the
    notifier run meanwhile, as in production: each new sos or service alarm fires its
    first step at once. Afterwards every alarm is resolved and pending notifications are
    cancelled, so that (b) and (c) measure ingest alone.
(b) duplicates: 1,000 of those events published again: all must be answered `duplicate`.
(c) heartbeats: H heartbeats over the N terminals as fast as possible: heartbeats/s
    received (`service.liveness`: taken or replaced), and how many terminal rows the liveness
    batcher wrote (`rows_written`) for them: the point of batching.

Times across the two processes are `time.monotonic()`: CLOCK_MONOTONIC on Linux, one
clock for every process of the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.broker import DISPATCHER_PASSWORD, LOAD_PASSWORD, LOAD_USER, PREFIX, own_mosquitto
from bench.engine_bench import fresh_database, percentile
from devices import protocol_v1 as p
from devices.events import EventType, Heartbeat, PowerSource, TerminalEvent
from dispatcher.app import Service
from dispatcher.city_file.load import load_city
from dispatcher.config import Settings
from dispatcher.rules.alarms import Outcome, Status
from dispatcher.store.db import create_engine, migrate, session_factory
from dispatcher.store.models import Alarm, EventLog, Notification, Terminal
from simulators.city import generate_city, terminal_ids

EVENT_TYPES = (EventType.SOS, EventType.SERVICE, EventType.TEST)
# an sos opens an emergency, a service press a service alarm; a test press is only logged
OPENS = {EventType.SOS: "emergency", EventType.SERVICE: "service"}
DUPLICATES = 1000
PHASE_DEADLINE_S = 90.0
SEED = 20261127


# ---- the terminals' side, run in a separate process -------------------------------------


@dataclass(frozen=True)
class Load:
    """What the load process publishes: (device_id, topic, payload, event_id or "")."""

    port: int
    messages: list[tuple[str, str, bytes, str]]
    publishers: int
    in_flight: int
    await_acks: bool
    deadline_s: float = PHASE_DEADLINE_S


@dataclass
class LoadReport:
    sent: int
    first_publish: float = 0.0  # time.monotonic()
    last_puback: float = 0.0  # the broker took the last one
    last_ack: float = 0.0
    latencies: list[float] = field(default_factory=list)
    results: Counter[str] = field(default_factory=Counter)
    missing: int = 0  # events never answered before the deadline
    repeated: int = 0  # acks after the first for one event
    stray: int = 0  # acks for events not sent in this run, or unreadable


def run_load(load: Load) -> LoadReport:
    """Entry point of the load process."""
    return asyncio.run(_run_load(load))


def _ready() -> bool:
    return True


@contextlib.asynccontextmanager
async def _client(
    port: int, role: str, *, in_flight: int = 20, pending: int = 10
) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier=f"bench-{role}-{uuid.uuid4().hex[:8]}",
        username=LOAD_USER,
        password=LOAD_PASSWORD,
        clean_session=True,
        max_inflight_messages=in_flight,
        timeout=60,
    ) as client:
        # aiomqtt warns on each publish while more than 10 await their PUBACK
        client.pending_calls_threshold = pending + 1
        yield client


async def _run_load(load: Load) -> LoadReport:
    report = LoadReport(sent=len(load.messages))
    wanted = {(device, event_id) for device, _, _, event_id in load.messages if event_id}
    sent_at: dict[tuple[str, str], float] = {}
    acked: dict[tuple[str, str], float] = {}
    all_acked = asyncio.Event()
    if not wanted:
        all_acked.set()

    def receive(topic: str, payload: bytes) -> None:
        now = time.monotonic()
        ack = p.decode_ack(payload)
        key = (topic.split("/")[-2], ack.event_id if ack is not None else "")
        if ack is None or key not in wanted:
            report.stray += 1
        elif key in acked:
            report.repeated += 1
        else:
            acked[key] = now
            report.results[ack.result.value] += 1
            if len(acked) == len(wanted):
                all_acked.set()

    async with contextlib.AsyncExitStack() as stack:
        acks = await stack.enter_async_context(_client(load.port, "acks"))
        if load.await_acks:
            await acks.subscribe(p.ack_topic(PREFIX, "+"), qos=1)
        per_client = max(1, load.in_flight // load.publishers)
        clients = [
            await stack.enter_async_context(
                _client(load.port, f"pub{i}", in_flight=per_client, pending=load.in_flight)
            )
            for i in range(load.publishers)
        ]

        async def read() -> None:
            async for message in acks.messages:
                receive(message.topic.value, _payload(message))

        reader = asyncio.create_task(read())
        try:
            report.first_publish, report.last_puback = await _publish_all(
                clients, load.messages, load.in_flight, sent_at
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(load.deadline_s):
                    await all_acked.wait()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await reader
    report.missing = len(wanted) - len(acked)
    report.latencies = [at - sent_at[key] for key, at in acked.items()]
    report.last_ack = max(acked.values(), default=0.0)
    return report


async def _publish_all(
    clients: Sequence[aiomqtt.Client],
    messages: Sequence[tuple[str, str, bytes, str]],
    in_flight: int,
    sent_at: dict[tuple[str, str], float],
) -> tuple[float, float]:
    """Publish everything at QoS 1, at most `in_flight` unconfirmed at once; a terminal's
    messages always go through the same client. Returns (first publish, last PUBACK)."""
    limit = asyncio.Semaphore(in_flight)
    slot: dict[str, int] = {}
    last = 0.0

    async def one(client: aiomqtt.Client, topic: str, payload: bytes) -> None:
        nonlocal last
        try:
            await client.publish(topic, payload, qos=1)
        finally:
            limit.release()
        last = time.monotonic()

    first = time.monotonic()
    async with asyncio.TaskGroup() as group:
        for device_id, topic, payload, event_id in messages:
            client = clients[slot.setdefault(device_id, len(slot) % len(clients))]
            await limit.acquire()
            if event_id:
                sent_at[(device_id, event_id)] = time.monotonic()
            group.create_task(one(client, topic, payload))
    return first, last


def _payload(message: aiomqtt.Message) -> bytes:
    payload = message.payload
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return str(payload).encode()


def event_messages(
    events: Sequence[tuple[str, str, EventType]],
) -> list[tuple[str, str, bytes, str]]:
    ts = datetime.now(UTC).astimezone()
    return [
        (
            device_id,
            p.event_topic(PREFIX, device_id),
            p.encode_event(
                TerminalEvent(
                    device_id=device_id, event_id=event_id, type=kind, ts=ts, battery=87, rssi=-71
                )
            ),
            event_id,
        )
        for device_id, event_id, kind in events
    ]


def heartbeat_messages(device_ids: Sequence[str], count: int) -> list[tuple[str, str, bytes, str]]:
    ts = datetime.now(UTC).astimezone()
    messages = []
    for i in range(count):
        device_id = device_ids[i % len(device_ids)]
        beat = Heartbeat(
            device_id=device_id,
            ts=ts,
            battery=100 - i // len(device_ids) % 50,
            rssi=-70,
            power=PowerSource.MAINS,
            fw="bench-1.0",
        )
        messages.append(
            (device_id, p.heartbeat_topic(PREFIX, device_id), p.encode_heartbeat(beat), "")
        )
    return messages


# ---- the dispatcher's side --------------------------------------------------------------


async def seed(url: str, residents: int) -> list[str]:
    """Migrate and load a generated city; returns its terminals."""
    document = generate_city(residents, SEED)
    db = create_engine(url)
    try:
        await migrate(db)
        async with session_factory(db).begin() as session:
            await load_city(session=session, document=document)
    finally:
        await db.dispose()
    return terminal_ids(document)


async def until(predicate: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {within:g} s for {what}")
        await asyncio.sleep(0.005)


async def count(sessions: async_sessionmaker[AsyncSession], query: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(query) or 0)


def _kind_count(kind: str, *where: Any) -> Any:
    return select(func.count()).select_from(EventLog).where(EventLog.kind == kind, *where)


def per_second(n: int, seconds: float) -> str:
    return f"{n / seconds:7.0f}" if seconds > 0 else "    n/a"


def describe_latency(latencies: Sequence[float]) -> str:
    if not latencies:
        return "no acks"
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return (
        f"ack latency p50 {p50 * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   "
        f"max {max(latencies) * 1000:7.1f} ms"
    )


def describe_acks(report: LoadReport) -> str:
    results = ", ".join(f"{k} {v}" for k, v in sorted(report.results.items())) or "none"
    return (
        f"acks: {results}; missing {report.missing}, repeated {report.repeated}, "
        f"stray {report.stray}"
    )


class Bench:
    def __init__(
        self, service: Service, pool: ProcessPoolExecutor, port: int, args: argparse.Namespace
    ) -> None:
        self.service = service
        self.pool = pool
        self.port = port
        self.publishers: int = args.publishers
        self.in_flight: int = args.in_flight
        self.ok = True

    def check(self, good: bool, what: str) -> None:
        if not good:
            self.ok = False
            print(f"    !! {what}")

    async def load(self, messages: list[tuple[str, str, bytes, str]], *, acks: bool) -> LoadReport:
        job = Load(self.port, messages, self.publishers, self.in_flight, await_acks=acks)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, run_load, job)

    async def events(self, terminals: Sequence[str], n: int) -> list[tuple[str, str, EventType]]:
        sessions = self.service.sessions
        run = uuid.uuid4().hex[:8]
        events = [
            (terminals[i % len(terminals)], f"bench-{run}-{i:07d}", EVENT_TYPES[i % 3])
            for i in range(n)
        ]
        opened = {(d, OPENS[kind]) for d, _, kind in events if kind in OPENS}
        attached = sum(1 for *_, kind in events if kind in OPENS) - len(opened)
        print(f"(a) events: {n} distinct sos/service/test events from {len(terminals)} terminals")
        engine, notifier = self.service.engine, self.service.notifier
        fired, sent = engine.fired, notifier.sent
        report = await self.load(event_messages(events), acks=True)
        took = report.last_ack - report.first_publish
        published = report.last_puback - report.first_publish
        print(
            f"    {n} events acked in {took:6.2f} s = {per_second(n, took)} events/s end to end "
            f"(all published in {published:.2f} s = {per_second(n, published).strip()}/s)"
        )
        print(f"    {describe_latency(report.latencies)}")
        print(f"    {describe_acks(report)}")
        self.check(report.results["accepted"] == n, f"{n} acks `accepted` expected")
        logged = await count(sessions, _kind_count("device_event"))
        doubled = await count(
            sessions,
            select(func.count()).select_from(
                select(EventLog.device_id, EventLog.event_id)
                .where(EventLog.kind == "device_event")
                .group_by(EventLog.device_id, EventLog.event_id)
                .having(func.count() > 1)
                .subquery()
            ),
        )
        # only what these events open: other alarms (a terminal gone offline) may come
        types = [kind.value for kind in OPENS]
        alarms = await count(
            sessions, select(func.count()).select_from(Alarm).where(Alarm.type.in_(types))
        )
        alarm_opened = await count(sessions, _kind_count("alarm_opened", EventLog.type.in_(types)))
        alarm_updated = await count(sessions, _kind_count("alarm_updated"))
        rejected = await count(sessions, _kind_count("rejected"))
        print(
            f"    event_log: device_event {logged} (expected {n}), logged twice {doubled}, "
            f"rejected {rejected}; alarms {alarms} (expected {len(opened)}), "
            f"alarm_opened {alarm_opened}, alarm_updated {alarm_updated} (expected {attached})"
        )
        self.check(logged == n and doubled == 0 and rejected == 0, "event log does not match")
        self.check(
            alarms == alarm_opened == len(opened) and alarm_updated == attached,
            "alarms do not match",
        )
        print(
            f"    meanwhile the engine fired {engine.fired - fired} escalation steps and the "
            f"notifier sent {notifier.sent - sent} notifications"
        )
        await self.quiesce()
        return events

    async def quiesce(self) -> None:
        """Resolve every alarm and cancel what is still queued, then let the engine and
        the notifier finish the passes they are in."""
        now = datetime.now(UTC)
        async with self.service.sessions.begin() as session:
            await session.execute(
                update(Alarm)
                .where(Alarm.status != Status.RESOLVED.value)
                .values(
                    status=Status.RESOLVED.value,
                    resolved_at=now,
                    resolved_by="bench",
                    outcome=Outcome.OTHER.value,
                    next_step_at=None,
                )
            )
            await session.execute(
                update(Notification)
                .where(Notification.status == "pending")
                .values(status="cancelled", updated_at=now)
            )
        engine, notifier = self.service.engine, self.service.notifier
        seen = (-1, -1)
        while seen != (engine.fired, notifier.sent):
            seen = (engine.fired, notifier.sent)
            await asyncio.sleep(1.0)

    async def duplicates(self, events: Sequence[tuple[str, str, EventType]]) -> None:
        again = list(events[:DUPLICATES])
        n = len(again)
        print(f"(b) duplicates: {n} of those events published again")
        logged = await count(self.service.sessions, _kind_count("device_event"))
        report = await self.load(event_messages(again), acks=True)
        took = report.last_ack - report.first_publish
        print(f"    {n} duplicates answered in {took:6.2f} s = {per_second(n, took)} events/s")
        print(f"    {describe_latency(report.latencies)}")
        print(f"    {describe_acks(report)}")
        self.check(report.results["duplicate"] == n, f"{n} acks `duplicate` expected")
        after = await count(self.service.sessions, _kind_count("device_event"))
        self.check(after == logged, f"event log grew by {after - logged}")

    async def heartbeats(self, terminals: Sequence[str], n: int) -> None:
        service, liveness = self.service, self.service.heartbeats
        print(f"(c) heartbeats: {n} from {len(terminals)} terminals")
        messages = heartbeat_messages(terminals, n)
        await until(lambda: liveness.pending == 0, 30, "the last liveness flush")
        rows, flushes = liveness.rows_written, liveness.flushes

        def received() -> int:
            # read off the liveness session: taken, or replaced by a later one while waiting
            return service.liveness.processed + service.liveness.replaced

        target = received() + n
        started = datetime.now(UTC)
        job = asyncio.ensure_future(self.load(messages, acks=False))
        deadline = time.monotonic() + PHASE_DEADLINE_S
        while received() < target and time.monotonic() < deadline:
            if job.done() and job.exception() is not None:
                break
            await asyncio.sleep(0.005)
        done = time.monotonic()
        report = await job
        processed = received() - (target - n)
        self.check(processed == n, f"{processed} of {n} heartbeats processed")
        took = done - report.first_publish
        published = report.last_puback - report.first_publish
        print(
            f"    {processed} heartbeats processed in {took:6.2f} s = "
            f"{per_second(processed, took)}/s "
            f"(all published in {published:.2f} s = {per_second(n, published).strip()}/s)"
        )
        # written when nothing is pending and no flush in flight adds rows for an interval
        written_so_far = -1
        while liveness.rows_written != written_so_far:
            written_so_far = liveness.rows_written
            await asyncio.sleep(service.settings.heartbeat.flush_interval_s + 0.5)
            await until(lambda: liveness.pending == 0, 30, "the liveness flush")
        written, batches = liveness.rows_written - rows, liveness.flushes - flushes
        print(
            f"    liveness: {written} terminal rows written in {batches} flushes for {n} "
            f"heartbeats = {n / max(written, 1):.1f} heartbeats per row written"
        )
        seen = await count(
            service.sessions,
            select(func.count()).select_from(Terminal).where(Terminal.last_seen >= started),
        )
        print(f"    terminals with last_seen from this run: {seen} (expected {len(terminals)})")
        self.check(seen == len(terminals), "liveness missing for some terminals")


async def main(args: argparse.Namespace) -> bool:
    ctx = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory(prefix="ingest-bench-") as folder,
        own_mosquitto(Path(folder)) as broker,
        ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool,
    ):
        # start the load process now: its imports are not part of any figure
        warm = asyncio.get_running_loop().run_in_executor(pool, _ready)
        port = broker.port
        async with fresh_database(args.db) as url:
            started = time.perf_counter()
            terminals = await seed(url, args.terminals)
            seeded = time.perf_counter() - started
            await warm
            settings = Settings.model_validate(
                {
                    "database": {"url": url},
                    "mqtt": {
                        "url": f"mqtt://127.0.0.1:{port}",
                        "topic_prefix": PREFIX,
                        "client_id": f"dispatcher.bench-{uuid.uuid4().hex[:8]}",
                        "password": DISPATCHER_PASSWORD,
                    },
                    "http": {"host": "127.0.0.1", "port": 0},
                    "heartbeat": {"flush_interval_s": args.flush_interval},
                }
            )
            async with Service(settings, serve_http=False) as service:
                await until(lambda: service.broker_connected, 15, "the MQTT connection")
                print(
                    f"ingest bench on {service.database.dialect.name}: {len(terminals)} terminals "
                    f"(seeded in {seeded:.2f} s), own Mosquitto on port {port}, "
                    f"{args.publishers} publishers, {args.in_flight} in flight, "
                    f"liveness flush every {args.flush_interval:g} s"
                )
                bench = Bench(service, pool, port, args)
                events = await bench.events(terminals, args.events)
                await bench.duplicates(events)
                await bench.heartbeats(terminals, args.heartbeats)
            return bench.ok


def cli() -> None:
    parser = argparse.ArgumentParser(description="MQTT ingest benchmark")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--terminals", type=int, default=2000)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--heartbeats", type=int, default=20000)
    parser.add_argument("--publishers", type=int, default=4, help="MQTT clients publishing")
    parser.add_argument("--in-flight", type=int, default=1000, help="QoS 1 publishes at once")
    parser.add_argument(
        "--flush-interval", type=float, default=2.0, help="heartbeat.flush_interval_s"
    )
    args = parser.parse_args()
    if min(args.terminals, args.events, args.heartbeats, args.publishers, args.in_flight) < 1:
        parser.error("sizes must be at least 1")
    logging.basicConfig(level=logging.WARNING)
    if not asyncio.run(main(args)):
        raise SystemExit("some checks failed (marked !!)")


if __name__ == "__main__":
    cli()
