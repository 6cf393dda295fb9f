"""A week of two communities, told as it happened, then `dispatcher report` over it,
checked against the same figures recomputed from the event log alone
(`tests/reports/recompute.py`), in Shanghai and, across the end of summer time, in
Berlin (a 25-hour day); and `GET /api/reports/daily` answers the same rows.

The service is real throughout, on a hand-moved clock: presses, check-ins and heartbeats
over MQTT; takes, closes, arrivals, providers sent and their states, and check-in windows
through the API; missed check-ins, a terminal alone offline and an outage raised and
closed by the engine.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatcher.app import Service
from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.store.models import (
    Alarm,
    Community,
    EventLog,
    OutageMember,
    Provider,
    Resident,
    Terminal,
)
from dispatcher.users.accounts import Role
from harness.mqtt import RawPeer, event, raw_peer, wait_for
from harness.service import add_user, api_client, running
from tests.reports import recompute

SettingsFor = Callable[..., Settings]
MOSQUITTO = ("127.0.0.1", 1883)
ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")  # summer time ends on 2026-10-25

CITY = {
    "kangqiao": ["T-0001", "T-0002", "T-0003", "T-0004"],
    "yuhua": ["T-0101", "T-0102", "T-0103"],
}
COMMUNITY_OF = {device: c for c, devices in CITY.items() for device in devices}


def at(when: str) -> datetime:
    """ "10-19 08:00:40", Shanghai time, in the simulated week of 2026."""
    day, clock = when.split(" ")
    if clock.count(":") == 1:
        clock += ":00"
    return datetime.fromisoformat(f"2026-{day}T{clock}").replace(tzinfo=SHANGHAI)


# (Shanghai time, what happens, terminal, detail); played in the order of time
WEEK: list[tuple[str, str, str, str]] = [
    # Monday: two emergencies each side, a meal delivered, a press just before midnight
    ("10-19 00:20", "press", "T-0001", "sos"),
    ("10-19 00:20:45", "take", "T-0001", ""),
    ("10-19 00:35", "arrive", "T-0001", ""),
    ("10-19 00:50", "close", "T-0001", "help_given"),
    ("10-19 09:00", "press", "T-0002", "fall"),
    ("10-19 09:01:10", "take", "T-0002", ""),  # 70 s: late for 60, in time for 180
    ("10-19 09:40", "arrive", "T-0002", ""),
    ("10-19 10:00", "close", "T-0002", "ambulance_called"),
    ("10-19 14:00", "press", "T-0101", "sos"),
    ("10-19 14:00:30", "take", "T-0101", ""),
    ("10-19 14:50", "arrive", "T-0101", ""),  # 50 minutes: late
    ("10-19 15:10", "close", "T-0101", "help_given"),
    ("10-19 16:00", "press", "T-0003", "service"),
    ("10-19 16:02", "take", "T-0003", ""),
    ("10-19 16:05", "service", "T-0003", "accepted"),
    ("10-19 17:00", "service", "T-0003", "done"),
    ("10-19 23:59:30", "press", "T-0102", "sos"),
    ("10-20 00:00:20", "take", "T-0102", ""),  # counted on Monday, the day it was opened
    ("10-20 00:20", "arrive", "T-0102", ""),
    ("10-20 00:40", "close", "T-0102", "help_given"),
    # Tuesday: a missed check-in, a press cancelled at once, a false alarm closed untaken
    ("10-19 23:00", "window", "T-0004", "06:00-07:00"),
    ("10-20 07:00:30", "missed", "T-0004", ""),
    ("10-20 07:40", "press", "T-0004", "checkin"),
    ("10-20 08:00", "window", "T-0004", ""),
    ("10-20 08:00", "press", "T-0001", "sos"),
    ("10-20 08:00:10", "press", "T-0001", "cancel"),  # closed by the resident: left out
    ("10-20 10:00", "press", "T-0103", "service"),
    ("10-20 10:01", "take", "T-0103", ""),
    ("10-20 12:00", "close", "T-0103", "other"),
    ("10-20 11:00", "press", "T-0002", "sos"),
    ("10-20 11:02", "close", "T-0002", "false_alarm"),  # answered by its close: 120 s
    # Wednesday: a fall at night taken late; help by phone after 70 minutes, nobody went
    ("10-21 03:00", "press", "T-0003", "fall"),
    ("10-21 03:04", "take", "T-0003", ""),
    ("10-21 03:20", "arrive", "T-0003", ""),
    ("10-21 03:50", "close", "T-0003", "help_given"),
    ("10-20 22:00", "window", "T-0101", "09:00-10:00"),
    ("10-21 10:00:30", "missed", "T-0101", ""),
    ("10-21 12:30", "press", "T-0101", "checkin"),
    ("10-21 13:00", "window", "T-0101", ""),
    ("10-21 15:00", "press", "T-0101", "sos"),
    ("10-21 15:00:59", "take", "T-0101", ""),
    ("10-21 16:10", "close", "T-0101", "help_given"),
    # Thursday: quiet. Friday: a service done untaken, two emergencies a minute apart
    ("10-23 09:00", "press", "T-0102", "service"),
    ("10-23 09:45", "service", "T-0102", "done"),
    ("10-23 09:30", "press", "T-0001", "sos"),
    ("10-23 09:30:30", "take", "T-0001", ""),
    ("10-23 09:40", "arrive", "T-0001", ""),
    ("10-23 10:00", "close", "T-0001", "help_given"),
    ("10-23 09:31", "press", "T-0002", "sos"),
    ("10-23 09:33", "take", "T-0002", ""),
    ("10-23 10:11", "arrive", "T-0002", ""),
    ("10-23 10:30", "close", "T-0002", "help_given"),
    # Saturday: an emergency nobody takes, still open at the end of the week
    ("10-24 20:00", "press", "T-0003", "sos"),
    # Sunday: taken at 60 s and reached at 45 minutes exactly (both in time)
    ("10-25 06:30", "press", "T-0004", "sos"),
    ("10-25 06:31", "take", "T-0004", ""),
    ("10-25 07:15", "arrive", "T-0004", ""),
    ("10-25 07:30", "close", "T-0004", "help_given"),
    # Sunday night, heartbeats an hour apart (see SETTINGS): kangqiao's T-0002 goes quiet
    # alone and gets its own alarm; yuhua's T-0101 and T-0102 go quiet together, one
    # outage, which T-0103 joins on battery (not offline) and which closes itself
    ("10-25 19:30", "beat", "T-0002 T-0101 T-0102 T-0103", ""),
    ("10-25 20:25", "beat", "T-0103", ""),
    ("10-25 20:30:01", "held", "T-0101 T-0102", ""),
    ("10-25 20:40", "press", "T-0103", "power_lost"),
    ("10-25 20:40:01", "alone", "T-0002", ""),
    ("10-25 20:40:02", "held", "T-0101 T-0102 T-0103", ""),
    ("10-25 21:20", "beat", "T-0103", ""),
    ("10-25 21:30", "beat", "T-0102", ""),
    ("10-25 21:30:01", "held", "T-0101 T-0103", ""),
    ("10-25 22:15", "beat", "T-0103", ""),
    ("10-25 22:20", "beat", "T-0102", ""),
    ("10-25 22:30", "beat", "T-0101", ""),
    ("10-25 22:30:01", "held", "T-0103", ""),
    ("10-25 23:00", "press", "T-0103", "power_restored"),
    ("10-25 23:00:01", "held", "", ""),
    ("10-25 23:10", "beat", "T-0102 T-0103", ""),
    ("10-25 23:20", "beat", "T-0101", ""),
    ("10-26 00:05", "beat", "T-0101 T-0102 T-0103", ""),
    ("10-26 00:30", "beat", "T-0002", ""),
    ("10-26 00:30:01", "back", "T-0002", ""),
    ("10-26 00:55", "beat", "T-0101 T-0102 T-0103", ""),
]


async def seed(service: Service) -> None:
    async with service.sessions.begin() as session:
        for community_id, devices in CITY.items():
            session.add(Community(id=community_id, name=community_id, street="s", district="d"))
            await session.flush()
            for device in devices:
                resident = f"r-{device[2:]}"
                session.add(
                    Resident(
                        id=resident,
                        community_id=community_id,
                        name=f"居民{device[2:]}",
                        address="地址",
                        language="zh-CN",
                        medical="",
                    )
                )
                await session.flush()
                session.add(Terminal(device_id=device, resident_id=resident, connected=False))
            session.add(
                Provider(
                    id=f"p-{community_id}",
                    community_id=community_id,
                    name="老年餐桌",
                    category="meals",
                    phone="+8613800000101",
                )
            )


class Week:
    def __init__(
        self, service: Service, clock: ManualClock, peer: RawPeer, api: Any, boss: Any
    ) -> None:
        self.service, self.clock, self.peer = service, clock, peer
        self.api, self.boss = api, boss  # an operator, and a supervisor for check-in windows

    async def newest_alarm(self, device: str) -> int:
        async with self.api.get(f"/api/alarms?status=all&q={device}&limit=1") as response:
            assert response.status == 200
            found = await response.json()
        return int(found[0]["id"])

    async def post(self, path: str, body: dict[str, str] | None = None) -> None:
        async with self.api.post(path, json=body) as response:
            assert response.status == 200, await response.text()

    async def alarm(self, alarm_id: int) -> dict[str, Any]:
        async with self.api.get(f"/api/alarms/{alarm_id}") as response:
            assert response.status == 200
            found: dict[str, Any] = await response.json()
            return found

    async def open_of(self, device: str, type_: str) -> bool:
        async with self.service.sessions() as session:
            found = await session.scalar(
                select(Alarm.id).where(
                    Alarm.resident_id == f"r-{device[2:]}",
                    Alarm.type == type_,
                    Alarm.status != "resolved",
                )
            )
            return found is not None

    async def outage_holds(self, devices: set[str]) -> bool:
        """The terminals an open outage holds now are exactly these (none: no outage)."""
        async with self.service.sessions() as session:
            held = await session.scalars(
                select(OutageMember.device_id)
                .join(Alarm, Alarm.id == OutageMember.alarm_id)
                .where(OutageMember.left_at.is_(None), Alarm.status != "resolved")
            )
            return set(held) == devices

    async def offline_alarms(self, *, open_: bool) -> set[str]:
        async with self.service.sessions() as session:
            rows = await session.scalars(
                select(Alarm.device_id).where(
                    Alarm.type == "offline", (Alarm.status != "resolved") == open_
                )
            )
            return {d for d in rows if d}

    async def last_seen(self, device: str) -> datetime | None:
        async with self.service.sessions() as session:
            terminal = await session.get(Terminal, device)
            return terminal.last_seen if terminal else None

    async def step(self, when: datetime, what: str, device: str, detail: str) -> None:
        clock = self.clock
        if when > clock.now():
            clock.set(when)
        now = clock.now()
        if what == "press":
            await self.peer.publish(device, "event", event(uuid.uuid4().hex, detail))
            assert (await self.peer.next_ack())[1]["result"] == "accepted"
            # a press is a sign of life too, written by the liveness batcher after the
            # ack: a look at who is offline must not come between (the wallboard's
            # count read 4 by the API and 3 on the page a moment later, under load)
            await wait_for(lambda: self._seen_at(device, now))
        elif what == "take":
            await self.post(f"/api/alarms/{await self.newest_alarm(device)}/ack")
        elif what == "close":
            alarm_id = await self.newest_alarm(device)
            await self.post(f"/api/alarms/{alarm_id}/resolve", {"outcome": detail})
        elif what == "arrive":
            await self.post(f"/api/alarms/{await self.newest_alarm(device)}/arrived")
        elif what == "service":
            alarm_id = await self.newest_alarm(device)
            if (await self.alarm(alarm_id))["provider_id"] is None:
                provider = f"p-{COMMUNITY_OF[device]}"
                await self.post(f"/api/alarms/{alarm_id}/dispatch", {"provider_id": provider})
            await self.post(f"/api/alarms/{alarm_id}/service", {"state": detail})
        elif what == "window":
            path = f"/api/residents/r-{device[2:]}/checkin"
            async with self.boss.put(path, json={"window": detail or None}) as response:
                assert response.status == 200, await response.text()
        elif what == "missed":
            await wait_for(lambda: self.open_of(device, "missed_checkin"))
        elif what == "alone":
            await wait_for(lambda: self.open_of(device, "offline"))
        elif what == "held":
            await wait_for(lambda: self.outage_holds(set(device.split())))
        elif what == "beat":
            beat = json.dumps({"v": 1, "ts": now.isoformat()})
            for one in device.split():
                await self.peer.publish(one, "heartbeat", beat)

            for one in device.split():
                await wait_for(lambda one=one: self._seen_at(one, now))
        elif what == "back":
            await wait_for(lambda: self._offline(set(device.split()), open_=False))
        else:
            raise AssertionError(what)

    async def _seen_at(self, device: str, now: datetime) -> bool:
        return await self.last_seen(device) == now

    async def _offline(self, devices: set[str], *, open_: bool) -> bool:
        return devices <= await self.offline_alarms(open_=open_)


def report_cli(db_url: str, tz: str, first: str, last: str, fmt: str) -> str:
    env = {**os.environ, "DISPATCHER_DATABASE__URL": db_url, "DISPATCHER_CITY__TIMEZONE": tz}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dispatcher.cli",
            "report",
            "--from",
            first,
            "--to",
            last,
            "--format",
            fmt,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_week_reported_as_the_event_log_tells_it(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    clock = ManualClock(at("10-18 23:00"))
    settings = settings_for(
        db_url,
        alarms={"cancel_closes_emergency": True},
        http={"token_ttl_s": 30 * 86400},  # one login for the whole week
        # a heartbeat an hour, missed once, is offline: a night told in a few beats
        heartbeat={"interval_s": 3600, "offline_after_missed": 1},
        outage={"min_terminals": 2, "window_s": 600},
    )
    async with running(settings, clock=clock, http=True) as service:
        await seed(service)
        await add_user(service, "op1", Role.OPERATOR)
        await add_user(service, "boss", Role.SUPERVISOR)
        async with (
            raw_peer(MOSQUITTO, topic_prefix) as peer,
            api_client(service, "op1") as api,
            api_client(service, "boss") as boss,
        ):
            week = Week(service, clock, peer, api, boss)
            for when, what, device, detail in sorted(WEEK, key=lambda s: at(s[0])):
                await week.step(at(when), what, device, detail)
        async with service.sessions() as session:
            lines = list(await session.scalars(select(EventLog)))
        async with (
            api_client(service, "boss") as boss,
            boss.get("/api/reports/daily?from=2026-10-19&to=2026-10-26") as response,
        ):
            assert response.status == 200
            from_api = await response.json()

    shanghai = list(
        csv.DictReader(
            io.StringIO(report_cli(db_url, "Asia/Shanghai", "2026-10-19", "2026-10-26", "csv"))
        )
    )
    expected = recompute.report(
        lines,
        COMMUNITY_OF,
        tz=SHANGHAI,
        first=date(2026, 10, 19),
        last=date(2026, 10, 26),
        now=clock.now(),
    )
    assert shanghai == expected
    as_json = json.loads(report_cli(db_url, "Asia/Shanghai", "2026-10-19", "2026-10-26", "json"))
    assert as_json == from_api
    assert len(as_json) == 8 * 2

    berlin = list(
        csv.DictReader(
            io.StringIO(report_cli(db_url, "Europe/Berlin", "2026-10-18", "2026-10-26", "csv"))
        )
    )
    assert berlin == recompute.report(
        lines,
        COMMUNITY_OF,
        tz=BERLIN,
        first=date(2026, 10, 18),
        last=date(2026, 10, 26),
        now=clock.now(),
    )

    # and what an inspector would check by hand
    row = {(r["date"], r["community_id"]): r for r in shanghai}
    figures = (
        "emergencies",
        "acked_within_60s_pct",
        "acked_within_180s_pct",
        "median_ack_s",
        "attended_within_45min_pct",
    )
    assert [row["2026-10-19", "kangqiao"][f] for f in figures] == [
        "2",
        "50.0",
        "100.0",
        "57.5",
        "100.0",
    ]
    assert [row["2026-10-19", "yuhua"][f] for f in figures] == [
        "2",
        "100.0",
        "100.0",
        "40.0",
        "50.0",
    ]
    # the cancelled press is left out, the false alarm answered by its close (120 s)
    assert [row["2026-10-20", "kangqiao"][f] for f in figures] == ["2", "0.0", "100.0", "120.0", ""]
    # nobody took it: late for both targets, and nobody went
    assert [row["2026-10-24", "kangqiao"][f] for f in figures] == ["1", "0.0", "0.0", "", "0.0"]
    assert [row["2026-10-25", "kangqiao"][f] for f in figures] == [
        "1",
        "100.0",
        "100.0",
        "60.0",
        "100.0",
    ]
    assert row["2026-10-22", "kangqiao"]["acked_within_60s_pct"] == ""
    services = ("service_requests", "service_done", "checkins_missed")
    assert [row["2026-10-19", "kangqiao"][f] for f in services] == ["1", "1", "0"]
    assert [row["2026-10-20", "yuhua"][f] for f in services] == ["1", "0", "0"]
    assert row["2026-10-20", "kangqiao"]["checkins_missed"] == "1"
    # offline from when they went down (20:30, an hour after their last beat), not from
    # when the engine raised it; T-0103 on battery is not offline
    offline = ("terminals_offline", "offline_terminal_minutes")
    assert [row["2026-10-25", "yuhua"][f] for f in offline] == ["2", "180.0"]
    assert [row["2026-10-25", "kangqiao"][f] for f in offline] == ["1", "210.0"]
    assert [row["2026-10-26", "kangqiao"][f] for f in offline] == ["1", "30.0"]
