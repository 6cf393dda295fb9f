"""The daily report recomputed from the event log alone, in plain Python, the way an
auditor of the city would check it: no SQL, no code of the service's report.

Each alarm's life is read from its lines (`alarm_opened`, `ack`, `resolve` by a person,
`resolved` by the system, `arrived`, `outage_joined`/`outage_left`); its community from
the city the test loaded (device -> community); offline time second by second, so that
two spans of one terminal can never count a second twice."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from dispatcher.store.models import EventLog


@dataclass
class Life:
    kind: str = ""
    type: str = ""
    device_id: str | None = None
    opened: datetime | None = None
    ack: datetime | None = None
    closed: datetime | None = None
    closed_by_person: bool = False
    outcome: str | None = None
    arrived: datetime | None = None
    since: datetime | None = None  # a terminal down before its alarm was raised
    members: list[tuple[str, str, datetime, datetime | None]] = field(default_factory=list)


def lives(lines: list[EventLog]) -> dict[int, Life]:
    found: dict[int, Life] = {}
    joined: dict[tuple[int, str], tuple[str, datetime]] = {}
    for line in sorted(lines, key=lambda x: x.id):
        if line.alarm_id is None:
            continue
        life = found.setdefault(line.alarm_id, Life())
        data: dict[str, Any] = line.data or {}
        if line.kind == "alarm_opened":
            life.kind, life.type = data["kind"], line.type or ""
            life.device_id, life.opened = line.device_id, line.at
            if "since" in data:
                life.since = datetime.fromisoformat(data["since"])
        elif line.kind == "ack" and life.ack is None:
            life.ack = line.at
        elif line.kind in ("resolve", "resolved"):
            life.closed, life.outcome = line.at, data["outcome"]
            life.closed_by_person = line.kind == "resolve"
        elif line.kind == "arrived" and life.arrived is None:
            life.arrived = line.at
        elif line.kind == "outage_joined":
            # offline from when it went down, which the engine noticed later
            went_down = datetime.fromisoformat(data["since"]) if "since" in data else line.at
            joined[line.alarm_id, line.device_id or ""] = (data["reason"], went_down)
        elif line.kind == "outage_left":
            reason, start = joined.pop((line.alarm_id, line.device_id or ""))
            life.members.append((line.device_id or "", reason, start, line.at))
    for (alarm_id, device_id), (reason, start) in joined.items():
        found[alarm_id].members.append((device_id, reason, start, None))
    return found


def _pct(part: int, whole: int) -> str:
    if whole == 0:
        return ""
    return _tenths(Fraction(100 * part, whole))


def _tenths(value: Fraction) -> str:
    tenths = int(value * 10 + Fraction(1, 2))  # half up; the values are not negative
    return f"{tenths // 10}.{tenths % 10}"


def report(
    lines: list[EventLog],
    community_of: dict[str, str],
    *,
    tz: ZoneInfo,
    first: date,
    last: date,
    now: datetime,
) -> list[dict[str, str]]:
    alarms = lives(lines)

    def community(life: Life) -> str:
        if life.device_id is not None:
            return community_of[life.device_id]
        return community_of[life.members[0][0]]

    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    rows = {(d, c): _Day() for d in days for c in sorted(set(community_of.values()))}
    offline_seconds: set[tuple[str, str, datetime]] = set()
    for life in alarms.values():
        assert life.opened is not None
        if life.kind == "device":
            spans = []
            if life.type == "offline":
                spans.append((life.device_id or "", life.since or life.opened, life.closed))
            spans += [(d, s, e) for d, reason, s, e in life.members if reason == "offline"]
            for device_id, start, end in spans:
                second = start
                while second < (end or now):
                    offline_seconds.add((community(life), device_id, second))
                    second += timedelta(seconds=1)
        day = rows.get((life.opened.astimezone(tz).date(), community(life)))
        if day is not None:
            day.add(life, now)
    for community_id, device_id, second in offline_seconds:
        day = rows.get((second.astimezone(tz).date(), community_id))
        if day is not None:
            day.offline.setdefault(device_id, 0)
            day.offline[device_id] += 1
    return [rows[d, c].row(d, c) for d, c in sorted(rows)]


@dataclass
class _Day:
    emergencies: int = 0
    answers: list[float] = field(default_factory=list)
    waiting: list[float] = field(default_factory=list)
    attended: int = 0
    needed: int = 0
    service: int = 0
    service_done: int = 0
    missed: int = 0
    offline: dict[str, int] = field(default_factory=dict)

    def add(self, life: Life, now: datetime) -> None:
        assert life.opened is not None
        if life.kind == "service":
            self.service += 1
            self.service_done += life.outcome == "service_done"
        if life.kind == "checkin" and life.type == "missed_checkin":
            self.missed += 1
        if life.kind != "emergency":
            return
        self.emergencies += 1
        if life.ack is not None:
            self.answers.append((life.ack - life.opened).total_seconds())
        elif life.closed is not None and life.closed_by_person:
            self.answers.append((life.closed - life.opened).total_seconds())
        elif life.closed is None:
            self.waiting.append((now - life.opened).total_seconds())
        # else: the resident cancelled, and nobody had to answer
        open_for = ((life.closed or now) - life.opened).total_seconds()
        if life.arrived is not None or (life.outcome != "false_alarm" and open_for > 45 * 60):
            self.needed += 1
            if life.arrived is not None and (life.arrived - life.opened).total_seconds() <= 2700:
                self.attended += 1

    def row(self, day: date, community_id: str) -> dict[str, str]:
        def within(limit: int) -> str:
            late_waiting = sum(w > limit for w in self.waiting)
            return _pct(sum(a <= limit for a in self.answers), len(self.answers) + late_waiting)

        median = statistics.median(self.answers) if self.answers else None
        return {
            "date": day.isoformat(),
            "community_id": community_id,
            "emergencies": str(self.emergencies),
            "acked_within_60s_pct": within(60),
            "acked_within_180s_pct": within(180),
            "median_ack_s": "" if median is None else _tenths(Fraction(median)),
            "attended_within_45min_pct": _pct(self.attended, self.needed),
            "service_requests": str(self.service),
            "service_done": str(self.service_done),
            "checkins_missed": str(self.missed),
            "terminals_offline": str(len(self.offline)),
            "offline_terminal_minutes": _tenths(Fraction(sum(self.offline.values()), 60)),
        }
