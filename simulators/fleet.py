"""A fleet of simulated terminals: heartbeats and Poisson presses for a fixed duration.

Each terminal has its own MQTT connection, as in a city. Connections being set up and
QoS 1 publishes in flight are bounded across the fleet (docs/stack-notes.md: a publisher with
too many in flight stalls; a burst of connects overwhelms a small broker).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from devices.events import EventType
from simulators.terminal import SimulatedTerminal


def fleet_ids(count: int) -> list[str]:
    """`T-000001`, `T-000002`, ...: the terminals of `generate_city(count, seed)`."""
    width = max(6, len(str(count)))
    return [f"T-{i:0{width}d}" for i in range(1, count + 1)]


@dataclass(frozen=True)
class FleetPlan:
    broker: str
    prefix: str
    device_ids: list[str]
    duration_s: float = 60.0
    heartbeat_s: float | None = 60.0  # None or 0: no heartbeats
    press_rate: float = 1.0  # presses per terminal per hour, Poisson
    event_type: EventType = EventType.SOS
    press_timeout: float = 30.0  # a press still unanswered after this counts as such
    resend_every: float = 2.0
    max_connecting: int = 50
    connect_timeout: float = 30.0  # a terminal retries its first connection this long
    max_in_flight: int = 1000
    seed: int | None = None
    clean_session: bool = False  # True leaves no session behind (tests on a shared broker)
    passwords: Mapping[str, str] = field(default_factory=dict)  # by device_id
    tls: bool = False  # also implied by an mqtts:// broker
    cafile: str | None = None


@dataclass
class FleetReport:
    terminals: int
    duration_s: float
    connected: int = 0
    connect_failures: int = 0
    reconnects: int = 0
    heartbeats: int = 0
    presses: int = 0
    unanswered: int = 0
    acks: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile of the ack latencies in seconds, q in 0..100."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]

    @property
    def ok(self) -> bool:
        return self.connect_failures == 0 and self.unanswered == 0

    def summary(self) -> str:
        acks = ", ".join(f"{result} {n}" for result, n in sorted(self.acks.items())) or "none"
        lines = [
            (
                f"terminals: {self.terminals} ({self.connected} connected, "
                f"{self.connect_failures} failed to connect) for {self.duration_s:g} s"
            ),
            f"heartbeats: {self.heartbeats}; reconnects: {self.reconnects}",
            f"presses: {self.presses}; acks: {acks}; unanswered: {self.unanswered}",
        ]
        p50, p99 = self.percentile(50), self.percentile(99)
        if p50 is not None and p99 is not None:
            lines.append(f"ack latency: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
        return "\n".join(lines)


async def run_fleet(plan: FleetPlan, *, logger: logging.Logger | None = None) -> FleetReport:
    """Run the fleet; returns once `duration_s` is over and the last presses settled
    (at most `press_timeout` later)."""
    log = logger or logging.getLogger("simulators.fleet")
    report = FleetReport(terminals=len(plan.device_ids), duration_s=plan.duration_s)
    connecting = asyncio.Semaphore(plan.max_connecting)
    in_flight = asyncio.Semaphore(plan.max_in_flight)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + plan.duration_s
    rng = random.Random(plan.seed)

    async def one(device_id: str, seed: int) -> None:
        if loop.time() >= deadline:
            return
        sim = SimulatedTerminal(
            plan.broker,
            plan.prefix,
            device_id,
            password=plan.passwords.get(device_id),
            tls=plan.tls,
            cafile=plan.cafile,
            heartbeat_s=plan.heartbeat_s or None,
            logger=log,
            limiter=in_flight,
            connect_timeout=plan.connect_timeout,
            clean_session=plan.clean_session,
        )
        async with connecting:
            try:
                await sim.__aenter__()
            except ConnectionError as exc:
                report.connect_failures += 1
                log.warning("%s: %s", device_id, exc)
                return
        report.connected += 1
        try:
            await _press_until(sim, plan, report, deadline, random.Random(seed))
        finally:
            report.heartbeats += sim.heartbeats_sent
            report.reconnects += max(0, sim.connects - 1)
            await sim.__aexit__(None, None, None)

    async with asyncio.TaskGroup() as group:
        for device_id in plan.device_ids:
            group.create_task(one(device_id, rng.getrandbits(64)))
    return report


async def _press_until(
    sim: SimulatedTerminal,
    plan: FleetPlan,
    report: FleetReport,
    deadline: float,
    rng: random.Random,
) -> None:
    loop = asyncio.get_running_loop()
    per_second = plan.press_rate / 3600
    while True:
        wait = rng.expovariate(per_second) if per_second > 0 else math.inf
        remaining = deadline - loop.time()
        if wait >= remaining:
            await asyncio.sleep(max(0.0, remaining))  # heartbeats go on until the end
            return
        await asyncio.sleep(wait)
        report.presses += 1
        started = loop.time()
        try:
            ack = await sim.press(
                plan.event_type, timeout=plan.press_timeout, resend_every=plan.resend_every
            )
        except TimeoutError:
            report.unanswered += 1
            continue
        report.latencies.append(loop.time() - started)
        report.acks[ack.result.value] += 1
