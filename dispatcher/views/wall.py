"""What the wallboard and the map read (docs/api.md): the city's figures now and today,
per community open alarms and who is on shift, and where open alarms and offline
terminals are. Reads only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import reports as report_rules
from dispatcher.rules import wall as rules
from dispatcher.rules.alarms import Status
from dispatcher.rules.policy import AlarmKind
from dispatcher.rules.roster import on_shift, parse_shift
from dispatcher.store.models import Alarm, Community, Resident, Terminal, Worker
from dispatcher.views.reports import alarm_counts
from dispatcher.views.responder import last_locations


def offline_condition(now: datetime, interval_s: int, offline_after_missed: int) -> Any:
    """As `rules.liveness.is_online` (and /metrics): a terminal that has beaten once is
    offline unless connected and heard from lately."""
    silent_since = now - timedelta(seconds=interval_s * offline_after_missed)
    return Terminal.last_heartbeat.is_not(None) & or_(
        Terminal.connected == false(), Terminal.last_seen <= silent_since
    )


def _on_shift(worker: Worker, now: datetime, tz: ZoneInfo) -> bool:
    shifts = []
    for raw in worker.shifts or []:
        try:
            shifts.append(parse_shift(raw["days"], raw["start"], raw["end"]))
        except (KeyError, ValueError):
            continue
    return on_shift(shifts, now, tz)


async def wall_figures(
    *, session: AsyncSession, now: datetime, tz: ZoneInfo, liveness: tuple[int, int]
) -> dict[str, Any]:
    """GET /api/wall: open emergencies, the longest wait of one nobody took (seconds),
    today's shares (the daily report's rules, the city as one), terminals offline now,
    check-ins missed today; per community its open alarms and its workers on shift."""
    open_rows = (
        await session.execute(
            select(Alarm.kind, Alarm.status, Alarm.created_at, Alarm.community_id).where(
                Alarm.status != Status.RESOLVED.value
            )
        )
    ).all()
    emergencies = [r for r in open_rows if r.kind == AlarmKind.EMERGENCY.value]
    waiting = [r.created_at for r in emergencies if r.status == Status.OPEN.value]
    today = report_rules.local_date(now, tz)
    days = report_rules.local_days(today, today, tz)
    counts = await alarm_counts(session=session, days=days, community=None, now=now)
    shares = rules.city_shares(counts.values())
    offline = await session.scalar(
        select(func.count()).select_from(Terminal).where(offline_condition(now, *liveness))
    )
    open_by_community: dict[str, int] = {}
    for r in open_rows:
        if r.community_id is not None:
            open_by_community[r.community_id] = open_by_community.get(r.community_id, 0) + 1
    workers: dict[str, list[str]] = {}
    for w in await session.scalars(select(Worker).order_by(Worker.id)):
        if _on_shift(w, now, tz):
            workers.setdefault(w.community_id, []).append(w.name)
    communities = [
        {
            "id": c.id,
            "name": c.name,
            "open_alarms": open_by_community.get(c.id, 0),
            "on_shift": workers.get(c.id, []),
        }
        for c in await session.scalars(select(Community).order_by(Community.id))
    ]
    communities.sort(key=lambda c: (-open_by_community.get(str(c["id"]), 0), str(c["id"])))

    def share(value: Any) -> float | None:
        return float(value) if value is not None else None

    return {
        "now": now.isoformat(),
        "date": today.isoformat(),
        "open_emergencies": len(emergencies),
        "longest_wait_s": (round((now - min(waiting)).total_seconds()) if waiting else None),
        "emergencies_today": shares.emergencies,
        "answered_60s_pct": share(shares.answered_60_pct),
        "answered_180s_pct": share(shares.answered_180_pct),
        "attended_45min_pct": share(shares.attended_45_pct),
        "terminals_offline": int(offline or 0),
        "checkins_missed_today": shares.checkins_missed,
        "communities": communities,
    }


async def map_markers(
    *, session: AsyncSession, now: datetime, liveness: tuple[int, int]
) -> list[dict[str, Any]]:
    """Open alarms, and terminals offline now (those without an open alarm of their own),
    each where the terminal last said it was, else at its resident's home; those with
    neither are listed without a place."""
    markers: list[dict[str, Any]] = []
    rows = (
        await session.execute(
            select(Alarm, Resident)
            .outerjoin(Resident, Resident.id == Alarm.resident_id)
            .where(Alarm.status != Status.RESOLVED.value)
            .order_by(Alarm.priority, Alarm.created_at)
        )
    ).all()
    offline = (
        await session.execute(
            select(Terminal, Resident)
            .outerjoin(Resident, Resident.id == Terminal.resident_id)
            .where(offline_condition(now, *liveness))
            .order_by(Terminal.device_id)
        )
    ).all()
    devices = {a.device_id for a, _ in rows if a.device_id} | {t.device_id for t, _ in offline}
    reported = await last_locations(session, devices)
    for alarm, resident in rows:
        place = _place(reported, alarm.device_id, resident)
        markers.append(
            {
                "what": "alarm",
                "alarm_id": alarm.id,
                "kind": alarm.kind,
                "type": alarm.type,
                "status": alarm.status,
                "created_at": alarm.created_at.isoformat(),
                "device_id": alarm.device_id,
                "community_id": alarm.community_id,
                "name": resident.name if resident is not None else None,
                "address": resident.address if resident is not None else None,
                "lat": place[0] if place else None,
                "lon": place[1] if place else None,
            }
        )
    alarmed = {m["device_id"] for m in markers if m["device_id"] is not None}
    for terminal, resident in offline:
        if terminal.device_id in alarmed:
            continue  # its open alarm is on the map already
        place = _place(reported, terminal.device_id, resident)
        markers.append(
            {
                "what": "offline",
                "alarm_id": None,
                "kind": "device",
                "type": "offline",
                "status": None,
                "created_at": None,
                "device_id": terminal.device_id,
                "community_id": resident.community_id if resident is not None else None,
                "name": resident.name if resident is not None else None,
                "address": resident.address if resident is not None else None,
                "lat": place[0] if place else None,
                "lon": place[1] if place else None,
            }
        )
    return markers


def _place(
    reported: dict[str, tuple[float, float]], device_id: str | None, resident: Resident | None
) -> tuple[float, float] | None:
    found = reported.get(device_id) if device_id is not None else None
    if found is None and resident is not None and resident.lat is not None:
        found = (resident.lat, resident.lon or 0.0)
    return found
