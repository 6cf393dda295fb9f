"""What the scenarios of `bench.city` share: the broker, the database with its city, the
notification sink, the dispatchers' set-up, the load's processes, the report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update

from bench import dispatchers
from bench.broker import LOAD_PASSWORD, LOAD_USER, MOSQUITTO_PUB, PREFIX, Broker, stop
from bench.cpu import CPU_HEAD, CpuWatch
from bench.dispatchers import Dispatcher, Setup
from bench.observe import SinkLog
from bench.report import Report
from devices import protocol_v1 as p
from dispatcher.city_file.load import load_city
from dispatcher.rules.alarms import Outcome, Status
from dispatcher.store.db import create_engine, migrate, session_factory
from dispatcher.store.models import CHECKIN_UNSET_SQL, Alarm, Notification, Resident
from simulators.city import generate_city

SEED = 20261129


@dataclass(frozen=True)
class City:
    terminals: list[str]
    # contact 1's phone -> the terminal of that resident: an SMS's `To` names the press
    by_contact1: dict[str, str]


async def seed(url: str, residents: int) -> City:
    """Migrate and load a generated city, one terminal per resident."""
    document = generate_city(residents, SEED)
    db = create_engine(url)
    try:
        await migrate(db)
        async with session_factory(db).begin() as session:
            await load_city(session=session, document=document)
    finally:
        await db.dispose()
    terminals, by_contact1 = [], {}
    for r in document["residents"]:
        terminals.append(str(r["terminal"]))
        first = min(r["contacts"], key=lambda c: c["priority"])
        by_contact1[str(first["phone"])] = str(r["terminal"])
    return City(terminals, by_contact1)


@dataclass
class Run:
    setup: Setup
    city: City
    sink: SinkLog
    report: Report = field(default_factory=Report)
    # opened for the whole run by `bench.city`; scenarios read their windows of it
    cpu: CpuWatch = field(default_factory=CpuWatch)
    _next_terminal: int = 0

    @property
    def broker(self) -> Broker:
        return self.setup.broker

    @property
    def workdir(self) -> Path:
        return self.setup.workdir

    def take_terminals(self, n: int) -> list[str]:
        """n terminals none of the scenarios before has pressed, while the city lasts;
        after that from the start again (each scenario resolves what it opened)."""
        if n > len(self.city.terminals):
            raise ValueError(f"{n} terminals asked of a city of {len(self.city.terminals)}")
        if self._next_terminal + n > len(self.city.terminals):
            self._next_terminal = 0
        taken = self.city.terminals[self._next_terminal : self._next_terminal + n]
        self._next_terminal += n
        return taken

    def cpu_row(self, scenario: str, from_ns: int, to_ns: int, count: int, unit: str) -> None:
        """What each kind of process spent on a unit of the scenario's load, over its
        window (the first message sent to the last answer), and how busy the cores were."""
        usage = self.cpu.usage(from_ns, to_ns)
        if usage is not None:
            self.report.add(scenario, f"CPU a {unit}: {CPU_HEAD}", usage.per(count, unit))

    @contextlib.contextmanager
    def dispatchers(self, count: int, label: str) -> Iterator[list[Dispatcher]]:
        started = dispatchers.start(self.setup, count, label)
        try:
            yield started
        finally:
            dispatchers.stop_all(started)
            time.sleep(dispatchers.SESSION_EXPIRY_S + 1)
            for d in started:
                if d.profile_path is not None:
                    print(f"    profile of dispatcher {d.index}: {d.profile_path}")

    @contextlib.asynccontextmanager
    async def database(self) -> AsyncIterator[Any]:
        db = create_engine(self.setup.database_url)
        try:
            yield session_factory(db)
        finally:
            await db.dispose()

    async def emergencies_since(self, since_ns: int) -> int:
        since = datetime.fromtimestamp(since_ns / 1e9, UTC) - timedelta(seconds=1)
        async with self.database() as sessions, sessions() as session:
            query = select(func.count()).where(
                Alarm.kind == "emergency", Alarm.type == "sos", Alarm.created_at >= since
            )
            return int(await session.scalar(query) or 0)

    async def settle(self, timeout_s: float = 600.0) -> float:
        """Once, after the city is loaded: a dispatcher until every resident's check-in
        window has its first deadline (60,000 of them in the full city, ~15 s of the
        engine and PostgreSQL), as a city's first start does once after its city file.
        Without it the first scenario measures that beside its own load. Seconds taken."""
        started = time.monotonic()
        fresh = select(func.count()).select_from(Resident).where(text(CHECKIN_UNSET_SQL))
        with self.dispatchers(1, "settle"):
            async with self.database() as sessions:
                while time.monotonic() - started < timeout_s:
                    async with sessions() as session:
                        if not await session.scalar(fresh):
                            break
                    await asyncio.sleep(0.5)
                else:
                    raise TimeoutError(f"check-in deadlines not all set in {timeout_s:g} s")
        await self.quiesce()
        return time.monotonic() - started

    async def quiesce(self) -> None:
        """Between scenarios, with no dispatcher running: every alarm resolved, every
        pending notification cancelled, so that the next scenario's presses each open
        an alarm and no earlier work competes with them."""
        now = datetime.now(UTC)
        async with self.database() as sessions, sessions.begin() as session:
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
        # what a city's PostgreSQL does by itself (autovacuum, on by default), which the
        # machine's may not: the planner's statistics of the tables the scenario grew
        # (the event log, alarms, notifications), so that the next one is not planned
        # for the tables as they were before it
        async with self.database() as sessions, sessions.begin() as session:
            await session.execute(text("ANALYZE"))


# ---- the load ---------------------------------------------------------------------------


def event_line(run: str, i: int, kind: str) -> bytes:
    """One event for `mosquitto_pub -l`: one line, no newline inside."""
    ts = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    body = {"v": 1, "event_id": f"{run}-{i}-{time.time_ns()}", "type": kind, "ts": ts}
    return json.dumps(body, separators=(",", ":")).encode()


def heartbeat_line() -> bytes:
    ts = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    body = {"v": 1, "ts": ts, "battery": 87, "rssi": -70, "power": "mains", "fw": "bench-1.0"}
    return json.dumps(body, separators=(",", ":")).encode()


def flood(broker: Broker, lines: dict[str, list[bytes]], qos: int) -> int:
    """Everything at once through Mosquitto's own C client, one `mosquitto_pub -l` per
    topic (it publishes each line of its standard input as a message). Returns the
    wall-clock ns at which the first line was handed over; returns when all have gone."""
    procs = {
        topic: subprocess.Popen(  # noqa: S603
            [MOSQUITTO_PUB, *broker.load_login(), "-q", str(qos), "-t", topic, "-l"],
            stdin=subprocess.PIPE,
        )
        for topic in lines
    }
    time.sleep(0.5)  # connected before the clock starts

    def feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
        assert proc.stdin is not None
        proc.stdin.write(data)
        proc.stdin.close()

    feeders = [
        threading.Thread(target=feed, args=(procs[t], b"\n".join(ls) + b"\n"))
        for t, ls in lines.items()
    ]
    started = time.time_ns()
    for t in feeders:
        t.start()
    for t in feeders:
        t.join()
    for proc in procs.values():
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            stop(proc)
    return started


@dataclass
class Publisher:
    proc: subprocess.Popen[bytes]
    report_path: Path
    sent_log: Path

    def wait(self, timeout: float) -> dict[str, Any]:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop(self.proc)
            raise
        if self.proc.returncode != 0:
            raise RuntimeError(f"publisher failed ({self.proc.returncode})")
        report: dict[str, Any] = json.loads(self.report_path.read_text())
        return report


def publish(
    run: Run, label: str, streams: Sequence[dict[str, Any]], start_at_ns: int = 0
) -> Publisher:
    """bench.publisher in a process of its own, with these streams."""
    plan_path = run.workdir / f"plan-{label}.json"
    report_path = run.workdir / f"published-{label}.json"
    sent_log = run.workdir / f"sent-{label}.txt"
    plan = {
        "host": run.broker.host,
        "port": run.broker.port,
        "username": LOAD_USER,
        "password": LOAD_PASSWORD,
        "client_id": f"bench-pub-{label}-{uuid.uuid4().hex[:6]}",
        "streams": list(streams),
        "sent_log": str(sent_log),
        "report": str(report_path),
        "start_at_ns": start_at_ns,
    }
    plan_path.write_text(json.dumps(plan))
    proc = subprocess.Popen([sys.executable, "-m", "bench.publisher", str(plan_path)])  # noqa: S603
    return Publisher(proc, report_path, sent_log)


def sos_stream(
    name: str, terminals: Sequence[str], rate: float, offset_s: float = 0.0
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "event",
        "topics": [p.event_topic(PREFIX, t) for t in terminals],
        "count": len(terminals),
        "rate": rate,
        "offset_s": offset_s,
        "qos": 1,
        "event_type": "sos",
        "run": f"{name}{uuid.uuid4().hex[:6]}",
    }


def heartbeat_stream(
    name: str, terminals: Sequence[str], interval_s: float, duration_s: float, qos: int
) -> dict[str, Any]:
    rate = len(terminals) / interval_s
    return {
        "name": name,
        "kind": "heartbeat",
        "topics": [p.heartbeat_topic(PREFIX, t) for t in terminals],
        "count": int(rate * duration_s),
        "rate": rate,
        "qos": qos,
    }


def device_of(topic: str) -> str:
    return topic.split("/")[-2]
