"""The scenarios of `simulate`: the plan of an ordinary week (pure, by seed), and a power
cut played by simulated terminals against the service."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dispatcher.config import Settings
from dispatcher.rules.liveness import offline_since
from dispatcher.store.models import Alarm, Terminal
from harness.city import seed_city
from harness.mqtt import wait_for
from harness.service import running
from simulators.city import DEMO_CITY, load_city
from simulators.power_cut import PowerCutPlan, run_power_cut
from simulators.week import plan_week, residents_of

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 1, 6, 0, tzinfo=TZ)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "dispatcher.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


def test_an_ordinary_week_is_planned_the_same_by_seed() -> None:
    city = load_city(DEMO_CITY)
    week = plan_week(city, start=START, days=7, tz=TZ, seed=1)
    assert week == plan_week(city, start=START, days=7, tz=TZ, seed=1)
    assert week != plan_week(city, start=START, days=7, tz=TZ, seed=2)
    assert week == sorted(week)
    assert week[0].at >= START
    assert week[-1].at < START + timedelta(days=7)


def test_every_resident_checks_in_daily_but_one_who_misses_a_day() -> None:
    city = load_city(DEMO_CITY)
    week = plan_week(city, start=START, days=7, tz=TZ, seed=1)
    residents = {r.device_id: r for r in residents_of(city)}
    checkins = [s for s in week if s.action == "press" and s.value == "checkin"]
    per_terminal = Counter(s.device_id for s in checkins)
    checking = [d for d, r in residents.items() if r.window and not r.window[2]]
    assert set(per_terminal) == set(checking)  # the paused one never presses
    late = []
    for step in checkins:
        opens, length, _ = residents[step.device_id].window or (0, 0, 0)
        local = step.at.astimezone(TZ)
        minute = local.hour * 60 + local.minute
        if (minute - opens) % 1440 >= length:
            late.append(step)
    assert len(late) == 1  # one missed check-in, pressed 90 minutes after the window


def test_the_week_has_services_emergencies_a_false_alarm_and_a_quiet_terminal() -> None:
    week = plan_week(load_city(DEMO_CITY), start=START, days=7, tz=TZ, seed=1)
    presses = Counter(s.value for s in week if s.action == "press")
    assert (presses["service"], presses["sos"], presses["cancel"]) == (14, 7, 1)
    actions = Counter(s.action for s in week)
    assert actions["ack"] == 7
    assert actions["arrived"] == 6
    assert Counter(s.value for s in week if s.action == "resolve") == {
        "help_given": 6,
        "false_alarm": 1,
    }
    assert Counter(s.value for s in week if s.action == "service")["done"] == 14
    assert actions["dispatch"] >= 1  # the residents without a default provider
    beats = sorted(s.at for s in week if s.action == "beat")
    gaps = [b - a for a, b in pairwise(beats)]
    assert max(gaps) == timedelta(hours=2, minutes=1)  # two hours silent: offline


async def test_a_power_cut_played_by_terminals_makes_one_outage_that_closes(
    sqlite_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    settings = settings_for(sqlite_url, outage={"min_terminals": 3})
    async with running(settings) as service:
        city = await seed_city(service.sessions, residents=3)
        plan = PowerCutPlan(
            broker="mqtt://127.0.0.1:1883",
            prefix=topic_prefix,
            device_ids=city.terminals,
            over_s=0.5,
            restore_after_s=1.0,
            dead=0.34,  # one of three runs flat
            linger_s=30,  # at most: they leave once the outage closed
            seed=1,
        )

        async def alarms() -> list[Alarm]:
            async with service.sessions() as session:
                return list(await session.scalars(select(Alarm)))

        async def closed() -> bool:
            found = await alarms()
            return bool(found) and all(a.status == "resolved" for a in found)

        # the terminals stay until the service saw them back: gone a fixed 0.5 s after
        # their restore, they went before a busy machine's engine had closed the outage
        report = await run_power_cut(plan, stay_until=closed)
        assert report.ok
        assert (report.lost, report.dead, report.restored) == (3, 1, 3)
        await wait_for(closed)
        [outage] = await alarms()
        assert (outage.type, outage.outcome) == ("outage", "resolved_itself")

        # the simulation is over and its terminals are gone: none of them ever beat, so
        # the service does not watch them for silence (no second outage that never clears)
        async def said_goodbye() -> list[Terminal]:
            async with service.sessions() as session:
                found = list(await session.scalars(select(Terminal)))
            return found if not any(t.connected for t in found) else []

        terminals = await wait_for(said_goodbye)
        assert {t.device_id for t in terminals} == set(city.terminals)
        assert all(t.last_heartbeat is None for t in terminals)
        for t in terminals:
            silent = offline_since(
                connected=t.connected,
                last_seen=t.last_seen,
                last_heartbeat=t.last_heartbeat,
                status_changed_at=t.status_changed_at,
                interval_s=60,
                offline_after_missed=3,
            )
            assert silent is None, t.device_id
