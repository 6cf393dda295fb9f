"""A power cut in one community, as its terminals live it (`simulate power-cut`).

Every terminal of the community connects; within `over_s` each reports power_lost (it
runs on its battery); a share of them (`dead`) then loses its connection as a flat
battery would (the broker publishes its last will); after `restore_after_s` the power is
back: the dead ones reconnect and all report power_restored, so the service sees them
back, and stay `linger_s`. In real time: the service's own clock and thresholds
(`outage.min_terminals`, `outage.window_s`) decide what the operators see.

By default the terminals send no heartbeats: the service watches a terminal for silence
only once it has beaten, so terminals that live only for the cut leave nothing behind
when the simulation ends (with heartbeats, their silence afterwards would be a second
outage, one that never clears). `heartbeat_s` makes them beat, for a city whose
terminals beat anyway (then keep them running afterwards, e.g. with `simulate fleet`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from devices.events import AckResult, EventType
from simulators.terminal import SimulatedTerminal


@dataclass(frozen=True)
class PowerCutPlan:
    broker: str
    prefix: str
    device_ids: list[str]
    over_s: float = 30.0
    restore_after_s: float = 180.0
    dead: float = 0.25  # the share whose battery runs flat (they go offline)
    heartbeat_s: float = 0.0  # 0: none (see above)
    linger_s: float = 10.0
    seed: int | None = None
    passwords: Mapping[str, str] = field(default_factory=dict)
    tls: bool = False
    cafile: str | None = None


@dataclass
class PowerCutReport:
    terminals: int
    lost: int = 0
    dead: int = 0
    restored: int = 0
    refused: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused and self.lost == self.restored == self.terminals

    def summary(self) -> str:
        lines = [
            (
                f"terminals: {self.terminals}; power_lost: {self.lost}; "
                f"went offline: {self.dead}; power_restored: {self.restored}"
            )
        ]
        if self.refused:
            lines.append(f"not acknowledged: {', '.join(self.refused[:10])}")
        return "\n".join(lines)


async def run_power_cut(
    plan: PowerCutPlan,
    *,
    say: Callable[[str], None] = lambda _: None,
    logger: logging.Logger | None = None,
    stay_until: Callable[[], Awaitable[bool]] | None = None,
) -> PowerCutReport:
    """Run it; `say` hears each phase as it starts. With `stay_until` the terminals stay,
    once back, until it is true (or `linger_s` has passed), not a fixed time: a test's
    terminals leave once the service has seen them back, however busy the machine."""
    log = logger or logging.getLogger("simulators.power_cut")
    rng = random.Random(plan.seed)
    report = PowerCutReport(terminals=len(plan.device_ids))
    dying = set(rng.sample(plan.device_ids, round(len(plan.device_ids) * plan.dead)))

    def terminal(device_id: str) -> SimulatedTerminal:
        return SimulatedTerminal(
            plan.broker,
            plan.prefix,
            device_id,
            password=plan.passwords.get(device_id),
            tls=plan.tls,
            cafile=plan.cafile,
            heartbeat_s=plan.heartbeat_s or None,
            logger=log,
        )

    async def press(sim: SimulatedTerminal, type_: EventType) -> bool:
        ack = await sim.press(type_, timeout=30)
        if ack.result is AckResult.REJECTED:
            report.refused.append(sim.device_id)
            return False
        return True

    async with contextlib.AsyncExitStack() as stack:
        sims = {d: await stack.enter_async_context(terminal(d)) for d in plan.device_ids}
        if plan.heartbeat_s:
            for sim in sims.values():
                await sim.heartbeat()  # each is alive before the cut
        say(f"{len(sims)} terminals connected; the power goes within {plan.over_s:g} s")

        async def lose(device_id: str) -> None:
            await asyncio.sleep(rng.uniform(0, plan.over_s))
            sim = sims[device_id]
            if await press(sim, EventType.POWER_LOST):
                report.lost += 1
            if device_id in dying:
                await asyncio.sleep(rng.uniform(1, max(plan.over_s, 2)))
                await sim.drop()  # a flat battery: no goodbye, the broker's last will
                report.dead += 1

        await asyncio.gather(*(lose(d) for d in plan.device_ids))
        say(
            f"power lost: {report.lost}; offline: {report.dead}; back in {plan.restore_after_s:g} s"
        )
        await asyncio.sleep(plan.restore_after_s)
        for device_id in sorted(dying):  # back on mains: they start again
            sims[device_id] = await stack.enter_async_context(terminal(device_id))

        async def restore(device_id: str) -> None:
            sim = sims[device_id]
            if await press(sim, EventType.POWER_RESTORED):
                report.restored += 1
            if plan.heartbeat_s:
                await sim.heartbeat()

        await asyncio.gather(*(restore(d) for d in plan.device_ids))
        if stay_until is None:
            await asyncio.sleep(plan.linger_s)
        else:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(plan.linger_s):
                    while not await stay_until():  # noqa: ASYNC110 (the service's database)
                        await asyncio.sleep(0.05)
    return report
