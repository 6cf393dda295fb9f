"""`GET /api/wall` (docs/api.md) through the week of `test_week`: after every step,
the wallboard's figures agree with the same figures recomputed from the event log alone
(`tests/reports/recompute.py`, the whole city as one community for today's shares) and,
for terminals offline now, from the terminals' rows by the liveness rule."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select

from dispatcher.clock import ManualClock
from dispatcher.rules.liveness import is_online
from dispatcher.store.models import EventLog, Terminal
from dispatcher.users.accounts import Role
from harness.mqtt import raw_peer, wait_for
from harness.service import add_user, api_client, running
from tests.reports import recompute
from tests.reports.test_week import (
    COMMUNITY_OF,
    MOSQUITTO,
    SHANGHAI,
    WEEK,
    SettingsFor,
    Week,
    at,
    seed,
)

CITY = dict.fromkeys(COMMUNITY_OF, "city")


def share(text: str) -> float | None:
    return float(text) if text else None


def expected(lines: list[EventLog], terminals: list[Terminal], now: datetime) -> dict[str, Any]:
    lives = recompute.lives(lines)
    today = now.astimezone(SHANGHAI).date()
    [row] = recompute.report(lines, CITY, tz=SHANGHAI, first=today, last=today, now=now)
    open_ = [life for life in lives.values() if life.closed is None]
    emergencies = [life for life in open_ if life.kind == "emergency"]
    waits = [now - life.opened for life in emergencies if life.ack is None and life.opened]

    def community(life: recompute.Life) -> str:
        device = life.device_id if life.device_id is not None else life.members[0][0]
        return COMMUNITY_OF[device]

    by_community = Counter(community(life) for life in open_)
    offline = [
        t
        for t in terminals
        if t.last_heartbeat is not None
        and not is_online(
            connected=t.connected,
            last_seen=t.last_seen,
            now=now,
            interval_s=3600,
            offline_after_missed=1,
        )
    ]
    return {
        "date": today.isoformat(),
        "open_emergencies": len(emergencies),
        "longest_wait_s": round(max(waits).total_seconds()) if waits else None,
        "emergencies_today": int(row["emergencies"]),
        "answered_60s_pct": share(row["acked_within_60s_pct"]),
        "answered_180s_pct": share(row["acked_within_180s_pct"]),
        "attended_45min_pct": share(row["attended_within_45min_pct"]),
        "checkins_missed_today": int(row["checkins_missed"]),
        "terminals_offline": len(offline),
        "open_by_community": {c: by_community.get(c, 0) for c in ("kangqiao", "yuhua")},
    }


async def test_the_wall_agrees_with_the_event_log_all_week(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    clock = ManualClock(at("10-18 23:00"))
    settings = settings_for(
        db_url,
        alarms={"cancel_closes_emergency": True},
        http={"token_ttl_s": 30 * 86400},
        heartbeat={"interval_s": 3600, "offline_after_missed": 1},
        outage={"min_terminals": 2, "window_s": 600},
    )
    checked: list[dict[str, Any]] = []
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

            async def state() -> tuple[list[EventLog], list[Terminal]]:
                async with service.sessions() as session:
                    lines = list(await session.scalars(select(EventLog).order_by(EventLog.id)))
                    terminals = list(await session.scalars(select(Terminal)))
                return lines, terminals

            async def agrees() -> dict[str, Any] | None:
                """The wall between two equal reads of the log (nothing moved meanwhile)."""
                before, terminals = await state()
                async with boss.get("/api/wall") as response:
                    assert response.status == 200
                    wall = await response.json()
                after, _ = await state()
                if len(before) != len(after):
                    return None
                wall["open_by_community"] = {
                    c["id"]: c["open_alarms"] for c in wall.pop("communities")
                }
                want = expected(after, terminals, clock.now())
                got = {key: wall[key] for key in want}
                assert got == want, (clock.now(), got, want)
                return got

            for when, what, device, detail in sorted(WEEK, key=lambda s: at(s[0])):
                await week.step(at(when), what, device, detail)
                found = await wait_for(agrees)
                checked.append(found)
    # the week showed the wall something of each figure
    assert any(c["open_emergencies"] for c in checked)
    assert any(c["longest_wait_s"] for c in checked)
    assert {c["answered_60s_pct"] for c in checked} > {None, 100.0}
    assert any(c["attended_45min_pct"] not in (None, 100.0) for c in checked)
    assert any(c["checkins_missed_today"] for c in checked)
    assert any(c["terminals_offline"] for c in checked)
