"""An ordinary week of a city (`simulate week`): the residents check in (one misses a
day and presses late), ask for services, have emergencies (one a false alarm), a
terminal goes quiet for two hours; an operator at the dashboard takes the emergencies
(some quickly, some late), records who reached the door, sends providers and records
how the services went. For demos and for the daily reports.

It runs on the service's own clock, which a demo speeds up (`clock.speed`: a week at
600x takes 17 minutes): the plan is made in service time (`plan_week`, pure and
deterministic by seed), then each step waits until the service's time has come.
Terminals speak MQTT; the operator speaks the HTTP API, as people do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from devices.events import EventType
from simulators.terminal import SimulatedTerminal

CATEGORIES = ("meals", "housekeeping", "repairs", "medical_escort", "shopping")


@dataclass(frozen=True, order=True)
class Step:
    """One thing that happens at `at` (service time): a terminal's press or heartbeat,
    or an operator's action on the newest unresolved alarm of `device_id` and `kind`."""

    at: datetime
    device_id: str
    action: str  # press, beat, ack, arrived, resolve, dispatch, service
    value: str = ""  # the event type, outcome, provider id or service state
    kind: str = ""  # of the alarm an operator acts on


@dataclass(frozen=True)
class Resident:
    id: str
    device_id: str
    community: str
    window: tuple[int, int, int] | None  # start minute of the day, length, paused
    service_default: str | None


def residents_of(city: Mapping[str, Any]) -> list[Resident]:
    found = []
    for r in city.get("residents", []):
        checkin = r.get("checkin") or {}
        window = None
        if checkin.get("window"):
            start, end = checkin["window"].split("-")
            a = int(start[:2]) * 60 + int(start[3:])
            b = int(end[:2]) * 60 + int(end[3:])
            window = (a, (b - a) % 1440, 1 if checkin.get("paused_until") else 0)
        found.append(
            Resident(r["id"], r["terminal"], r["community"], window, r.get("service_default"))
        )
    return found


def providers_of(city: Mapping[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """community -> [(provider id, category)]."""
    return {
        c["id"]: [(p["id"], p["category"]) for p in c.get("providers") or []]
        for c in city.get("communities", [])
    }


def plan_week(
    city: Mapping[str, Any], *, start: datetime, days: int, tz: ZoneInfo, seed: int
) -> list[Step]:
    """Every step from `start` (the service's time) to the end of the `days`th local
    day, in order. Check-in windows still open at `start` are pressed in (the one of
    last night too, past midnight); those already over are not (they are missed)."""
    rng = random.Random(seed)
    residents = residents_of(city)
    providers = providers_of(city)
    first_day = start.astimezone(tz).date()
    soonest = start + timedelta(minutes=1)
    steps: list[Step] = []

    def at(day: int, minute: float) -> datetime:
        midnight = datetime.combine(first_day + timedelta(days=day), datetime.min.time(), tz)
        return midnight + timedelta(minutes=minute)

    checking = [r for r in residents if r.window is not None and not r.window[2]]
    missing = checking[1] if len(checking) > 1 else None  # misses one day, presses late
    for day in range(-1, days):
        for r in checking:
            opens, length, _ = r.window or (0, 0, 0)
            if at(day, opens + length) <= soonest:
                continue  # over before we began
            if r is missing and day == min(2, days - 1):
                steps.append(Step(at(day, opens + length + 90), r.device_id, "press", "checkin"))
                continue
            begin = max(at(day, opens), soonest)
            span = (at(day, opens + length) - begin).total_seconds()
            when = begin + timedelta(seconds=span * rng.uniform(0.05, 0.9))
            steps.append(Step(when, r.device_id, "press", "checkin"))
        for _ in range(2):  # service requests in the day
            steps += _service_request(
                rng, rng.choice(residents), providers, at(day, rng.uniform(540, 960))
            )
        steps += _emergency(
            rng, rng.choice(residents), at(day, rng.uniform(0, 1440)), false=day == 4
        )
    if days > 3 and residents:
        steps += _quiet_terminal(residents[-1].device_id, at(3, 9 * 60), hours=2, until=at(days, 0))
    return sorted(s for s in steps if s.at >= start)


def _service_request(
    rng: random.Random,
    r: Resident,
    providers: Mapping[str, list[tuple[str, str]]],
    when: datetime,
) -> list[Step]:
    def later(minutes: float) -> datetime:
        return when + timedelta(minutes=minutes)

    steps = [Step(when, r.device_id, "press", "service")]
    offset = rng.uniform(3, 10)
    if r.service_default is None:  # no default provider: the operator sends one
        own = providers.get(r.community) or []
        if not own:
            return steps
        provider, _ = rng.choice(own)
        steps.append(Step(later(offset), r.device_id, "dispatch", provider, "service"))
        offset += rng.uniform(2, 8)
        steps.append(Step(later(offset), r.device_id, "service", "accepted", "service"))
    else:  # the default provider was told at once; it calls back to accept
        steps.append(Step(later(offset), r.device_id, "service", "accepted", "service"))
    offset += rng.uniform(10, 30)
    steps.append(Step(later(offset), r.device_id, "service", "on_the_way", "service"))
    offset += rng.uniform(30, 90)
    steps.append(Step(later(offset), r.device_id, "service", "done", "service"))
    return steps


def _emergency(rng: random.Random, r: Resident, when: datetime, *, false: bool) -> list[Step]:
    def later(seconds: float) -> datetime:
        return when + timedelta(seconds=seconds)

    steps = [Step(when, r.device_id, "press", "sos")]
    ack = rng.choice((20, 35, 50, 75, 140, 200))  # some late: the reports show it
    steps.append(Step(later(ack), r.device_id, "ack", kind="emergency"))
    if false:  # pressed by mistake: the resident cancels, the operator closes it
        steps.append(Step(later(ack / 2), r.device_id, "press", "cancel"))
        steps.append(Step(later(ack + 60), r.device_id, "resolve", "false_alarm", "emergency"))
        return steps
    door = ack + rng.uniform(8, 55) * 60
    steps.append(Step(later(door), r.device_id, "arrived", kind="emergency"))
    steps.append(
        Step(
            later(door + rng.uniform(10, 40) * 60),
            r.device_id,
            "resolve",
            "help_given",
            "emergency",
        )
    )
    return steps


def _quiet_terminal(device_id: str, start: datetime, *, hours: int, until: datetime) -> list[Step]:
    """Heartbeats every minute from `start`, but none for `hours`: the terminal is
    offline for them, and online before and after."""
    steps = []
    gap = (start + timedelta(hours=1), start + timedelta(hours=1 + hours))
    at = start
    while at < until:
        if not gap[0] <= at < gap[1]:
            steps.append(Step(at, device_id, "beat"))
        at += timedelta(minutes=1)
    return steps


# --- running it ---------------------------------------------------------------------------


class ServiceTime:
    """The service's clock as this process sees it: read from the API, then followed
    with the wall clock at `speed`."""

    def __init__(self, now: datetime, speed: float) -> None:
        self._base, self._speed, self._origin = now, speed, time.monotonic()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=(time.monotonic() - self._origin) * self._speed)

    async def until(self, when: datetime) -> None:
        wait = (when - self.now()).total_seconds() / self._speed
        if wait > 0:
            await asyncio.sleep(wait)


@dataclass
class WeekReport:
    done: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        done = ", ".join(f"{k} {n}" for k, n in sorted(self.done.items())) or "nothing"
        lines = [f"done: {done}"]
        if self.failed:
            lines.append("failed: " + ", ".join(f"{k} {n}" for k, n in sorted(self.failed.items())))
        return "\n".join(lines)


class Operator:
    """An operator at the dashboard, through the HTTP API. Logs in again when the token
    runs out (it does within minutes on a demo clock)."""

    def __init__(self, client: aiohttp.ClientSession, username: str, password: str) -> None:
        self._client = client
        self._login = {"username": username, "password": password}

    @classmethod
    @contextlib.asynccontextmanager
    async def logged_in(cls, api: str, username: str, password: str) -> AsyncIterator[Operator]:
        async with aiohttp.ClientSession(api) as client:
            operator = cls(client, username, password)
            await operator.log_in()
            yield operator

    async def log_in(self) -> None:
        async with self._client.post("/api/login", json=self._login) as response:
            if response.status != 200:
                raise PermissionError(
                    f"login as {self._login['username']} refused ({response.status})"
                )
            token = (await response.json())["token"]
        self._client.headers["Authorization"] = f"Bearer {token}"

    async def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        for attempt in range(2):
            async with self._client.request(method, path, **kwargs) as response:
                if response.status == 401 and attempt == 0:
                    await self.log_in()
                    continue
                return response.status, await response.json()
        raise AssertionError("unreachable")

    async def now(self) -> datetime:
        status, body = await self._call("GET", "/api/queue")
        if status != 200:
            raise PermissionError(f"the queue answered {status}")
        return datetime.fromisoformat(body["now"])

    async def alarm_of(self, device_id: str, kind: str) -> int | None:
        """The newest unresolved alarm of this terminal and kind."""
        status, body = await self._call("GET", "/api/alarms", params={"limit": "1000"})
        if status != 200:
            return None
        found = [
            a["id"]
            for a in body
            if a["device_id"] == device_id and a["kind"] == kind and a["status"] != "resolved"
        ]
        return max(found) if found else None

    async def act(self, alarm_id: int, action: str, body: dict[str, Any] | None) -> bool:
        status, _ = await self._call("POST", f"/api/alarms/{alarm_id}/{action}", json=body)
        return status == 200


async def run_week(
    steps: list[Step],
    *,
    operator: Operator,
    terminals: Mapping[str, SimulatedTerminal],
    clock: ServiceTime,
    say: Callable[[str], None] = lambda _: None,
    logger: logging.Logger | None = None,
) -> WeekReport:
    log = logger or logging.getLogger("simulators.week")
    report = WeekReport()
    day: date | None = None
    pending: set[asyncio.Task[None]] = set()
    # one terminal's steps in order (the operator acts on the alarm its press opened),
    # the terminals side by side
    last: dict[str, asyncio.Task[None]] = {}

    async def do(step: Step, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])
        try:
            ok = await _do(step, operator, terminals)
        except (OSError, TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.warning("%s of %s failed: %r", step.action, step.device_id, exc)
            ok = False
        (report.done if ok else report.failed)[step.action] += 1
        if not ok:
            log.warning("could not %s %s for %s", step.action, step.value, step.device_id)

    for step in steps:
        if step.at.date() != day:
            day = step.at.date()
            say(f"{day.isoformat()}: {report.summary().splitlines()[0]}")
        await clock.until(step.at)
        task = asyncio.create_task(do(step, last.get(step.device_id)))
        last[step.device_id] = task
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    return report


async def _do(step: Step, operator: Operator, terminals: Mapping[str, SimulatedTerminal]) -> bool:
    sim = terminals[step.device_id]
    if step.action == "press":
        ack = await sim.press(EventType(step.value), timeout=30)
        return ack.result.value != "rejected"
    if step.action == "beat":
        await sim.heartbeat()
        return True
    alarm_id = None
    for _ in range(20):  # the press may still be on its way to the service
        alarm_id = await operator.alarm_of(step.device_id, step.kind)
        if alarm_id is not None:
            break
        await asyncio.sleep(0.1)
    if alarm_id is None:
        return False
    match step.action:
        case "ack" | "arrived":
            return await operator.act(alarm_id, step.action, None)
        case "resolve":
            return await operator.act(alarm_id, "resolve", {"outcome": step.value})
        case "dispatch":
            return await operator.act(alarm_id, "dispatch", {"provider_id": step.value})
        case "service":
            return await operator.act(alarm_id, "service", {"state": step.value})
    return False
