"""DC-09 messages per second through the receiver to the database, beside MQTT ingest in
the same run. A benchmark, not a test.

    .venv/bin/python -m bench.dc09_bench [--db sqlite|postgres] [--terminals 2000]
        [--dc09-connections 100] [--dc09-messages 5000] [--mqtt-events 5000]

A generated city; every other terminal is made a DC-09 terminal (half of those with an
AES-128 key). One `Service` with its DC-09 receiver and its MQTT listener (the bench's
own Mosquitto, as `bench.ingest_bench`). Two load processes at once, neither in the
dispatcher's event loop:

- DC-09: C terminals, each on its own TCP connection, each sending its share of M
  ADM-CID messages one after another as a panel does (the next once the last is ACKed):
  new 602 (test), 100 (SOS), 110 (fire: a report that raises nothing) in turn. Plain
  and encrypted alike; every message must be answered ACK.
- MQTT: E events (sos, service, test) over the other terminals, as `bench.ingest_bench`.

Printed: messages/s of each (first send to last answer), answer latencies, and the
database counted against what must be there: one row per DC-09 message, none twice.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import secrets
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, update

from bench.broker import DISPATCHER_PASSWORD, PREFIX, own_mosquitto
from bench.engine_bench import fresh_database
from bench.ingest_bench import (
    Bench,
    LoadReport,
    count,
    describe_latency,
    event_messages,
    per_second,
    seed,
    until,
)
from devices.events import EventType
from dispatcher.app import Service
from dispatcher.config import Settings
from dispatcher.store.db import create_engine, session_factory
from dispatcher.store.models import EventLog, Terminal
from simulators.dc09 import Dc09Terminal

CODES = ("1602 00 000", "1100 01 001", "1110 01 003")
MQTT_TYPES = (EventType.SOS, EventType.SERVICE, EventType.TEST)


@dataclass(frozen=True)
class Dc09Load:
    port: int
    terminals: list[tuple[str, str | None]]  # account, key (hex)
    messages: int


@dataclass
class Dc09Report:
    first_send: float = 0.0
    last_answer: float = 0.0
    latencies: list[float] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    attempts: int = 0


def run_dc09_load(load: Dc09Load) -> Dc09Report:
    return asyncio.run(_dc09_load(load))


async def _dc09_load(load: Dc09Load) -> Dc09Report:
    report = Dc09Report()
    share = [load.messages // len(load.terminals)] * len(load.terminals)
    for i in range(load.messages % len(load.terminals)):
        share[i] += 1

    async def one(account: str, key: str | None, n: int, offset: int) -> None:
        async with Dc09Terminal(
            account, bytes.fromhex(key) if key else None, "127.0.0.1", load.port, retry_s=30
        ) as terminal:
            for i in range(n):
                started = time.monotonic()
                sent = await terminal.send("ADM-CID", CODES[(offset + i) % len(CODES)])
                report.last_answer = max(report.last_answer, time.monotonic())
                report.latencies.append(time.monotonic() - started)
                report.answers[sent.answer.value if sent.answer else "none"] += 1
                report.attempts += sent.attempts

    report.first_send = time.monotonic()
    await asyncio.gather(
        *(
            one(account, key, n, index)
            for index, ((account, key), n) in enumerate(zip(load.terminals, share, strict=True))
        )
    )
    return report


def _ready() -> bool:
    return True


async def make_dc09(url: str, terminals: list[str]) -> list[tuple[str, str, str | None]]:
    """Every other terminal speaks DC-09; every other of those encrypts."""
    chosen = [
        (device, f"{i:04X}", secrets.token_hex(16).upper() if i % 2 else None)
        for i, device in enumerate(terminals[1::2], start=0x100)
    ]
    db = create_engine(url)
    try:
        async with session_factory(db).begin() as session:
            for device, account, key in chosen:
                await session.execute(
                    update(Terminal)
                    .where(Terminal.device_id == device)
                    .values(protocol="dc09", dc09_account=account, dc09_key=key)
                )
    finally:
        await db.dispose()
    return chosen


async def main(args: argparse.Namespace) -> bool:
    ctx = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory(prefix="dc09-bench-") as folder,
        own_mosquitto(Path(folder)) as broker,
        ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool,
    ):
        loop = asyncio.get_running_loop()
        warm = [loop.run_in_executor(pool, _ready) for _ in range(2)]
        async with fresh_database(args.db) as url:
            terminals = await seed(url, args.terminals)
            dc09_terminals = await make_dc09(url, terminals)
            mqtt_terminals = terminals[0::2]
            await asyncio.gather(*warm)
            settings = Settings.model_validate(
                {
                    "database": {"url": url},
                    "mqtt": {
                        "url": f"mqtt://127.0.0.1:{broker.port}",
                        "topic_prefix": PREFIX,
                        "client_id": f"dispatcher.bench-{uuid.uuid4().hex[:8]}",
                        "password": DISPATCHER_PASSWORD,
                    },
                    "http": {"host": "127.0.0.1", "port": 0},
                    "dc09": {"host": "127.0.0.1", "port": 0},
                }
            )
            async with Service(settings, serve_http=False) as service:
                await until(lambda: service.broker_connected, 15, "the MQTT connection")
                assert service.dc09 is not None
                bench = Bench(service, pool, broker.port, args)
                connections = dc09_terminals[: args.dc09_connections]
                print(
                    f"DC-09 bench on {service.database.dialect.name}: {len(terminals)} terminals, "
                    f"{len(dc09_terminals)} of them DC-09; {len(connections)} DC-09 connections "
                    f"send {args.dc09_messages} messages while MQTT publishers send "
                    f"{args.mqtt_events} events"
                )
                run = uuid.uuid4().hex[:8]
                mqtt_events = [
                    (mqtt_terminals[i % len(mqtt_terminals)], f"b-{run}-{i:07d}", MQTT_TYPES[i % 3])
                    for i in range(args.mqtt_events)
                ]
                load = Dc09Load(
                    service.dc09.port, [(a, k) for _, a, k in connections], args.dc09_messages
                )
                dc09_future = loop.run_in_executor(pool, run_dc09_load, load)
                if mqtt_events:
                    mqtt_report = await bench.load(event_messages(mqtt_events), acks=True)
                dc09_report = await dc09_future
                if not mqtt_events:  # DC-09 alone, for reference
                    mqtt_report = LoadReport(0, dc09_report.first_send, 0, dc09_report.first_send)

                took = dc09_report.last_answer - dc09_report.first_send
                n = args.dc09_messages
                print(
                    f"DC-09: {n} messages answered in {took:6.2f} s = {per_second(n, took)} msg/s "
                    f"over {len(connections)} connections; answers {dict(dc09_report.answers)}, "
                    f"attempts {dc09_report.attempts}"
                )
                print(f"    {describe_latency(dc09_report.latencies)}")
                m = args.mqtt_events
                mqtt_took = mqtt_report.last_ack - mqtt_report.first_publish
                print(
                    f"MQTT:  {m} events acked in {mqtt_took:6.2f} s = "
                    f"{per_second(m, mqtt_took)} events/s, results {dict(mqtt_report.results)}"
                )
                if mqtt_report.latencies:
                    print(f"    {describe_latency(mqtt_report.latencies)}")
                both = max(dc09_report.last_answer, mqtt_report.last_ack) - min(
                    dc09_report.first_send, mqtt_report.first_publish
                )
                print(f"together: {n + m} in {both:.2f} s = {per_second(n + m, both)} /s")
                dc09_ids = [d for d, _, _ in connections]
                stored = await count(
                    service.sessions,
                    select(func.count())
                    .select_from(EventLog)
                    .where(
                        EventLog.device_id.in_(dc09_ids),
                        EventLog.kind.in_(("device_event", "device_report")),
                    ),
                )
                print(f"    DC-09 rows in the event log: {stored} (expected {n})")
                ok = (
                    dc09_report.answers["ACK"] == n
                    and stored == n
                    and mqtt_report.results["accepted"] == m
                )
                if not ok:
                    print("!! counts do not match")
                return bool(ok)


def cli() -> None:
    parser = argparse.ArgumentParser(description="DC-09 beside MQTT ingest benchmark")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--terminals", type=int, default=2000)
    parser.add_argument("--dc09-connections", type=int, default=100)
    parser.add_argument("--dc09-messages", type=int, default=5000)
    parser.add_argument("--mqtt-events", type=int, default=5000)
    parser.add_argument("--publishers", type=int, default=4, help="MQTT clients publishing")
    parser.add_argument("--in-flight", type=int, default=1000, help="QoS 1 publishes at once")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not asyncio.run(main(args)):
        raise SystemExit("some checks failed")


if __name__ == "__main__":
    cli()
