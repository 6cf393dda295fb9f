"""The fault guarantee (issue 9 §5), run on real services: presses go on while
dispatchers are killed, the broker and the database restart; then everything is
reconciled from the database, the terminals and what reached the SMS provider.

Everything runs as in a city, on services of its own (the machine's PostgreSQL and
Mosquitto serve other tests and are never restarted):
- a PostgreSQL cluster (`OwnPostgres`), a Mosquitto with `deploy/mosquitto.conf`
  (`OwnMosquitto`: accounts, TLS for terminals, persistence), the Twilio stand-in;
- `dispatcher run` processes (two by default, sharing the terminals through an MQTT
  shared subscription), set up with the public commands (`migrate`, `load`, `terminal
  credentials`, `broker-files`) and environment overrides;
- simulated terminals (their own accounts, over TLS) that repeat each event until acked.
  Each presses SOS, keeps the alarm open `hold_s`, then presses cancel (the city runs
  with `alarms.cancel_closes_emergency`), so that every SOS opens an alarm of its own,
  and each alarm's one notification (an SMS to the resident's first contact) has time
  to go out.

Faults come in turn (kill -9 of a dispatcher, broker restart, database restart), each
once a share of the presses is done, so they fall across the whole run.

`bench/faults.py` runs the long form from the command line; `tests/faults/` the short one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import yaml
from sqlalchemy import func, select

from devices.events import AckResult, EventType, TerminalEvent
from dispatcher.config import Settings
from dispatcher.store.db import create_engine, session_factory
from dispatcher.store.models import Alarm, EventLog, Notification
from harness.dispatcher_process import DispatcherProcess
from harness.mosquitto import OwnMosquitto, issue_credentials
from harness.ports import free_port
from harness.postgres import OwnPostgres
from simulators.city import generate_city, terminal_ids, write_city
from simulators.terminal import SimulatedTerminal
from simulators.twilio.standin import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TwilioStandIn

KINDS = ("kill -9", "broker restart", "database restart")
PREFIX = "eldercare"
DISPATCHER_PASSWORD = "faults-dispatcher-secret"
OUR_NUMBER = "+8653188880000"
_SETTLE_WITHIN_S = 60.0

log = logging.getLogger("faults")


@dataclass(frozen=True)
class FaultPlan:
    presses: int = 2000  # SOS presses in all; each is followed by its terminal's cancel
    terminals: int = 100
    faults: int = 5  # of each kind
    dispatchers: int = 2
    hold_s: float = 1.0  # an alarm stays open this long before its terminal cancels it
    resend_every: float = 1.0  # a terminal repeats an unacknowledged event this often
    press_timeout: float = 180.0  # a press still unacknowledged after this counts as lost
    deadline_s: float = 900.0  # the whole run, faults included
    seed: int = 20261129


@dataclass(frozen=True)
class Press:
    device_id: str
    event_id: str
    type: EventType
    result: str  # accepted, duplicate, rejected, timeout
    latency_s: float


@dataclass
class FaultReport:
    plan: FaultPlan
    presses: list[Press] = field(default_factory=list)
    faults: list[tuple[str, float, float]] = field(default_factory=list)  # kind, at, took
    problems: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        sos = [p for p in self.presses if p.type is EventType.SOS]
        results = Counter(p.result for p in self.presses)
        latencies = sorted(p.latency_s for p in self.presses if p.result != "timeout")
        by_kind = Counter(kind for kind, _, _ in self.faults)
        lines = [
            (
                f"{len(sos)} SOS presses and {len(self.presses) - len(sos)} cancels from "
                f"{self.plan.terminals} terminals, {self.plan.dispatchers} dispatcher "
                f"processes, in {self.duration_s:.0f} s"
            ),
            "faults: " + ", ".join(f"{n} x {kind}" for kind, n in sorted(by_kind.items())),
            "acks: " + ", ".join(f"{r} {n}" for r, n in sorted(results.items())),
        ]
        if latencies:
            p50 = latencies[len(latencies) // 2]
            p99 = latencies[min(len(latencies) - 1, math.ceil(len(latencies) * 0.99) - 1)]
            lines.append(
                f"ack latency: p50 {p50 * 1000:.0f} ms, p99 {p99:.2f} s, max {latencies[-1]:.2f} s"
            )
        if self.faults:
            took = [t for _, _, t in self.faults]
            lines.append(f"fault recovery (service back): max {max(took):.1f} s")
        lines += [f"{name}: {value}" for name, value in self.figures.items()]
        lines += [f"PROBLEM: {p}" for p in self.problems] or ["reconciled: no problem"]
        return "\n".join(lines)


# ---- the dispatcher processes ------------------------------------------------------------


def _dispatcher(index: int, env: dict[str, str], config: Path, workdir: Path) -> DispatcherProcess:
    port = free_port()
    return DispatcherProcess(
        env={
            **env,
            "DISPATCHER_HTTP__PORT": str(port),
            "DISPATCHER_MQTT__CLIENT_ID": f"dispatcher.{index}",
        },
        log=workdir / f"dispatcher-{index}.log",
        http_port=port,
        config=config,
    )


def _config(path: Path) -> None:
    """Every emergency: one SMS to the resident's first contact, at once."""
    path.write_text(
        yaml.safe_dump(
            {
                "alarms": {"cancel_closes_emergency": True},
                "heartbeat": {"offline_alarms": False},
                "notifications": {
                    # the provider is the stand-in's, set for `run` only (see _services)
                    # each contact gets an SMS per press: no summary instead
                    "throttle": {"limit": 1_000_000, "window_s": 300, "gather_s": 0},
                },
                "escalation": {
                    "emergency": {
                        "repeat": 0,
                        "steps": [{"notify": ["contact:1"], "channels": ["sms"], "wait_s": 3600}],
                    }
                },
            }
        )
    )


def _command(env: dict[str, str], config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", "--config", str(config), *args],
        env=env,
        capture_output=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dispatcher {' '.join(args[:2])}: {done.stderr.decode()[-2000:]}")
    return done.stdout.decode()


# ---- the run ---------------------------------------------------------------------------


@dataclass
class _Services:
    workdir: Path
    pg: OwnPostgres
    broker: OwnMosquitto
    db_url: str
    dispatchers: list[DispatcherProcess]
    standin: TwilioStandIn
    passwords: dict[str, str]


@contextlib.asynccontextmanager
async def _services(plan: FaultPlan, workdir: Path) -> AsyncIterator[_Services]:
    pg = OwnPostgres()
    broker = OwnMosquitto(workdir)
    try:
        pg.init()
        pg.start()
        await pg.create_database("dispatch")
        db_url = pg.url("dispatch")
        config = workdir / "config.yaml"
        _config(config)
        env = {
            **os.environ,
            "DISPATCHER_DATABASE__URL": db_url,
            "DISPATCHER_MQTT__URL": broker.dispatcher_url,
            "DISPATCHER_MQTT__PASSWORD": DISPATCHER_PASSWORD,
            "DISPATCHER_MQTT__TOPIC_PREFIX": PREFIX,
            "DISPATCHER_MQTT__CREDENTIALS_KEY_FILE": str(workdir / "mqtt-credentials.key"),
            # back soon after a broker restart
            "DISPATCHER_MQTT__RECONNECT_MAX_S": "2",
        }
        city = generate_city(plan.terminals, plan.seed)
        write_city(city, workdir / "city.yaml")
        log.info("PostgreSQL up; loading the city")
        _command(env, config, "load", str(workdir / "city.yaml"))  # migrates first
        # `dispatcher terminal credentials` and `broker-files`, without two more starts
        # of Python: the same functions, in this process
        settings = Settings.model_validate(
            {
                "database": {"url": db_url},
                "mqtt": {
                    "url": broker.dispatcher_url,
                    "password": DISPATCHER_PASSWORD,
                    "credentials_key_file": env["DISPATCHER_MQTT__CREDENTIALS_KEY_FILE"],
                },
            }
        )
        passwords = await issue_credentials(settings, terminal_ids(city))
        await broker.write_accounts(settings)
        broker.start()
        await _until("the broker listening", broker.listening, 30)
        log.info("Mosquitto up with the accounts; starting the dispatchers")
        async with TwilioStandIn(step_s=0.05) as standin:
            dispatchers = [
                _dispatcher(i, env, config, workdir) for i in range(1, plan.dispatchers + 1)
            ]
            public = f"http://127.0.0.1:{dispatchers[0].http_port}"  # Twilio calls back one
            for d in dispatchers:
                d.env.update(
                    {
                        "DISPATCHER_NOTIFICATIONS__PROVIDER": "twilio",
                        "DISPATCHER_NOTIFICATIONS__PUBLIC_URL": public,
                        "DISPATCHER_NOTIFICATIONS__TWILIO__API_BASE": standin.base_url,
                        "DISPATCHER_NOTIFICATIONS__TWILIO__ACCOUNT_SID": TEST_ACCOUNT_SID,
                        "DISPATCHER_NOTIFICATIONS__TWILIO__AUTH_TOKEN": TEST_AUTH_TOKEN,
                        "DISPATCHER_NOTIFICATIONS__TWILIO__FROM_NUMBER": OUR_NUMBER,
                    }
                )
                d.start()
            try:
                yield _Services(workdir, pg, broker, db_url, dispatchers, standin, passwords)
            finally:
                for d in dispatchers:
                    d.stop()
    finally:
        broker.stop()
        # the database's own log beside the dispatchers' (deadlocks name both statements)
        with contextlib.suppress(OSError):
            shutil.copyfile(pg.log, workdir / "postgresql.log")
        pg.remove()


async def _until(what: str, check: Any, within: float, interval: float = 0.1) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {within:.0f} s")
        await asyncio.sleep(interval)


async def _all_healthy(services: _Services, client: aiohttp.ClientSession) -> bool:
    return all([await d.healthy(client) for d in services.dispatchers])


class _Run:
    def __init__(self, plan: FaultPlan, services: _Services, report: FaultReport) -> None:
        self.plan = plan
        self.s = services
        self.report = report
        self.sos_done = 0
        self.started = time.monotonic()
        self.limiter = asyncio.Semaphore(500)

    # -- terminals -------------------------------------------------------------------

    def terminal(self, device_id: str) -> SimulatedTerminal:
        host, port = self.s.broker.terminal_address
        return SimulatedTerminal(
            f"mqtts://{host}:{port}",
            PREFIX,
            device_id,
            password=self.s.passwords[device_id],
            cafile=str(self.s.broker.certs.ca),
            limiter=self.limiter,
            connect_timeout=30,
            reconnect_s=0.5,
            announce_offline=False,
        )

    async def send(self, sim: SimulatedTerminal, event: TerminalEvent) -> Press:
        started = time.monotonic()
        try:
            ack = await sim.send_until_acked(
                event, timeout=self.plan.press_timeout, resend_every=self.plan.resend_every
            )
            result = ack.result.value
        except TimeoutError:
            result = "timeout"
        press = Press(
            event.device_id, event.event_id, event.type, result, time.monotonic() - started
        )
        self.report.presses.append(press)
        return press

    async def presses(self, sim: SimulatedTerminal, count: int) -> None:
        ok = {AckResult.ACCEPTED.value, AckResult.DUPLICATE.value}
        for _ in range(count):
            sos = await self.send(sim, sim.make_event(EventType.SOS))
            if sos.result not in ok:
                return  # the report says why; a cancel would cancel nothing of it
            self.sos_done += 1
            await asyncio.sleep(self.plan.hold_s)
            cancel = await self.send(sim, sim.make_event(EventType.CANCEL))
            if cancel.result not in ok:
                return

    async def one_terminal(self, device_id: str, count: int, connecting: asyncio.Semaphore) -> None:
        sim = self.terminal(device_id)
        async with connecting:
            await sim.__aenter__()
        try:
            await self.presses(sim, count)
        finally:
            await sim.__aexit__(None, None, None)

    # -- faults ----------------------------------------------------------------------

    async def faults(self, client: aiohttp.ClientSession) -> None:
        total = self.plan.faults * len(KINDS)
        kills = restarts = 0
        for k in range(total):
            threshold = (k + 1) * self.plan.presses // (total + 1)
            await _until("progress", lambda t=threshold: self.sos_done >= t, self.plan.deadline_s)
            kind = KINDS[k % len(KINDS)]
            at = time.monotonic() - self.started
            if kind == "kill -9":
                victim = self.s.dispatchers[kills % len(self.s.dispatchers)]
                kills += 1
                victim.kill()
                victim.start()
            elif kind == "broker restart":
                self.s.broker.stop()
                self.s.broker.start()
                await _until("the broker back", self.s.broker.listening, 30)
            else:
                self.s.pg.stop("immediate")
                # a dispatcher (re)started while the database is down, as after a power
                # cut: it waits, answering /healthz, and must not exit when PostgreSQL,
                # starting, says "the database system is starting up" (issue 17 §1)
                starter = self.s.dispatchers[restarts % len(self.s.dispatchers)]
                restarts += 1
                starter.kill()
                starter.start()
                await _until("the new one answering", lambda d=starter: d.answers(client), 60)
                self.s.pg.start()
                self.report.figures["dispatchers started during a database restart"] = restarts
            await _until("the dispatchers back", lambda: _all_healthy(self.s, client), 60)
            took = time.monotonic() - self.started - at
            log.info("fault %d/%d: %s at %.1f s, back in %.1f s", k + 1, total, kind, at, took)
            self.report.faults.append((kind, at, took))


def _shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def run_faults(plan: FaultPlan, workdir: Path) -> FaultReport:
    """Run the plan; the report's `problems` lists every broken promise."""
    report = FaultReport(plan)
    started = time.monotonic()
    async with _services(plan, workdir) as services, aiohttp.ClientSession() as client:
        await _until("the dispatchers ready", lambda: _all_healthy(services, client), 60)
        log.info("dispatchers ready; %d terminals start pressing", plan.terminals)
        run = _Run(plan, services, report)
        run.started = time.monotonic()
        connecting = asyncio.Semaphore(20)
        device_ids = sorted(services.passwords)[: plan.terminals]
        try:
            async with asyncio.timeout(plan.deadline_s), asyncio.TaskGroup() as group:
                group.create_task(run.faults(client))
                for device_id, count in zip(
                    device_ids, _shares(plan.presses, len(device_ids)), strict=True
                ):
                    group.create_task(run.one_terminal(device_id, count, connecting))
        except* TimeoutError as timed_out:
            # a deadline of the run, or of one step (`_until` names it)
            report.problems.append(
                f"not done within {plan.deadline_s:.0f} s "
                f"({run.sos_done} SOS acked, {len(report.faults)} faults done): "
                + "; ".join(str(e) or type(e).__name__ for e in timed_out.exceptions)
            )
        except* Exception as failed:
            report.problems += [f"the run failed: {e!r}" for e in failed.exceptions]
        report.duration_s = time.monotonic() - run.started
        log.info("presses done in %.0f s; waiting for the outbox", report.duration_s)
        settled = await _settle(services)
        if not settled:
            report.problems.append("notifications still pending after the run")
        for d in services.dispatchers:
            d.stop()  # sends in flight are recorded
        log.info("reconciling")
        await _reconcile(services, report)
    report.figures["total time with set-up"] = f"{time.monotonic() - started:.0f} s"
    return report


async def _settle(services: _Services) -> bool:
    engine = create_engine(services.db_url)
    try:
        sessions = session_factory(engine)

        async def outbox_drained() -> bool:
            async with sessions() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.status.in_(["pending", "held"]))
                )
            return not waiting

        try:
            await _until("the outbox drained", outbox_drained, _SETTLE_WITHIN_S, 0.5)
            await services.standin.settle(_SETTLE_WITHIN_S)
        except TimeoutError:
            return False
        return True
    finally:
        await engine.dispose()


# ---- reconciliation --------------------------------------------------------------------


async def _reconcile(services: _Services, report: FaultReport) -> None:
    engine = create_engine(services.db_url)
    try:
        async with session_factory(engine)() as session:
            events = list(
                await session.execute(
                    select(EventLog.device_id, EventLog.event_id, EventLog.type, EventLog.alarm_id)
                    .where(EventLog.kind == "device_event")
                    .order_by(EventLog.id)
                )
            )
            alarms = {
                a.id: a
                for a in await session.scalars(select(Alarm).where(Alarm.kind == "emergency"))
            }
            opened = Counter(
                await session.scalars(
                    select(EventLog.alarm_id).where(EventLog.kind == "alarm_opened")
                )
            )
            notifications = list(await session.scalars(select(Notification)))
    finally:
        await engine.dispose()
    _check_presses(report, events, alarms, opened)
    _check_notifications(report, alarms, notifications, services.standin)


def _check_presses(
    report: FaultReport,
    events: Sequence[Any],
    alarms: dict[int, Alarm],
    opened: Counter[int | None],
) -> None:
    problems = report.problems
    results = Counter(p.result for p in report.presses)
    bad = {r: n for r, n in results.items() if r not in {"accepted", "duplicate"}}
    if bad:
        problems.append(f"presses not acked accepted or duplicate: {bad}")
    sent = {(p.device_id, p.event_id) for p in report.presses}
    logged = Counter((e.device_id, e.event_id) for e in events)
    if twice := [k for k, n in logged.items() if n > 1]:
        problems.append(f"{len(twice)} events logged more than once, e.g. {twice[:3]}")
    if missing := sent - set(logged):
        problems.append(f"{len(missing)} presses not in the event log, e.g. {sorted(missing)[:3]}")
    if unknown := set(logged) - sent:
        problems.append(f"{len(unknown)} logged events nobody sent, e.g. {sorted(unknown)[:3]}")
    sos = [e for e in events if e.type == "sos"]
    sos_alarms = Counter(e.alarm_id for e in sos)
    if None in sos_alarms:
        problems.append(f"{sos_alarms[None]} SOS presses opened no alarm")
    if shared := {a: n for a, n in sos_alarms.items() if a is not None and n > 1}:
        problems.append(f"{len(shared)} alarms hold more than one SOS (e.g. {list(shared)[:3]})")
    if len(alarms) != len(sos):
        problems.append(f"{len(alarms)} emergency alarms for {len(sos)} SOS presses")
    if not_once := [a for a in alarms if opened[a] != 1]:
        problems.append(f"{len(not_once)} alarms not opened exactly once")
    still_open = [a.id for a in alarms.values() if a.status != "resolved"]
    if still_open:
        problems.append(f"{len(still_open)} alarms left open although cancelled")
    last_sos: dict[str, int | None] = {}
    wrong_cancel = 0
    for e in events:
        if e.type == "sos":
            last_sos[e.device_id] = e.alarm_id
        elif e.type == "cancel" and e.alarm_id != last_sos.get(e.device_id):
            wrong_cancel += 1
    if wrong_cancel:
        problems.append(f"{wrong_cancel} cancels not on the alarm of their terminal's last SOS")
    report.figures["events logged"] = len(events)
    report.figures["emergency alarms"] = len(alarms)


def _notification_id(callback_url: str | None) -> int | None:
    if not callback_url:
        return None
    tail = urlsplit(callback_url).path.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _check_notifications(
    report: FaultReport,
    alarms: dict[int, Alarm],
    notifications: Sequence[Notification],
    standin: TwilioStandIn,
) -> None:
    problems = report.problems
    accepted = [
        r for r in standin.requests if r.path.endswith("/Messages.json") and r.status == 201
    ]
    at_provider = Counter(_notification_id(r.get("StatusCallback")) for r in accepted)
    sids = {_notification_id(r.get("StatusCallback")): r.response.get("sid") for r in accepted}
    rows = {n.id: n for n in notifications if n.channel == "sms"}
    keys = Counter(
        (n.alarm_id, n.purpose, n.step, n.round, n.recipient_key, n.channel) for n in notifications
    )
    if doubled := [k for k, n in keys.items() if n > 1]:
        problems.append(f"{len(doubled)} notifications queued twice")
    if twice := {i: n for i, n in at_provider.items() if n > 1}:
        problems.append(f"{len(twice)} notifications sent twice to the provider: {twice}")
    if strangers := set(at_provider) - set(rows):
        problems.append(f"the provider got {len(strangers)} SMS no notification row stands for")
    states: Counter[str] = Counter()
    for n in rows.values():
        times = at_provider.get(n.id, 0)
        if n.status in {"sent", "delivered"}:
            if times != 1 or sids.get(n.id) != n.provider_sid:
                problems.append(
                    f"notification {n.id} is {n.status} but reached the provider {times} times"
                )
            states["sent once"] += 1
        elif n.status == "cancelled":
            if times:
                problems.append(f"notification {n.id} was cancelled but reached the provider")
            states["cancelled (alarm closed first)"] += 1
        elif n.status == "sending":
            states[f"left sending, at the provider {times} time(s)"] += 1
        elif n.status == "permanent_failure" and "interrupted" in (n.last_error or ""):
            states[f"interrupted by a stop, at the provider {times} time(s)"] += 1
        else:
            why = (n.last_error or "").split(":", 1)[0][:60]
            states[f"{n.status} ({why}), at the provider {times} time(s)"] += 1
    with_sms = {n.alarm_id for n in rows.values()}
    report.figures["SMS notifications"] = ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
    report.figures["alarms closed before their SMS was queued"] = len(set(alarms) - with_sms)
    report.figures["SMS at the provider"] = sum(at_provider.values())
