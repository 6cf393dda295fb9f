"""Terminals as the dashboard and the API show them: online or not, battery, signal;
the ones that need attention first."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, and_, case, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from dispatcher.rules.liveness import is_online
from dispatcher.store.db import is_postgresql
from dispatcher.store.models import Community, Resident, Terminal

# at or below this (percent) a terminal is shown as needing a battery change
LOW_BATTERY = 20


def online(terminal: Terminal, now: datetime, liveness: tuple[int, int]) -> bool:
    """`liveness`: the heartbeat interval (s) and how many missed make it offline."""
    interval_s, missed = liveness
    return is_online(
        connected=terminal.connected,
        last_seen=terminal.last_seen,
        now=now,
        interval_s=interval_s,
        offline_after_missed=missed,
    )


def terminal_json(terminal: Terminal, now: datetime, liveness: tuple[int, int]) -> dict[str, Any]:
    return {
        "device_id": terminal.device_id,
        "resident_id": terminal.resident_id,
        "online": online(terminal, now, liveness),
        "connected": terminal.connected,
        "last_seen": terminal.last_seen.isoformat() if terminal.last_seen else None,
        "battery": terminal.battery,
        "low_battery": terminal.battery is not None and terminal.battery <= LOW_BATTERY,
        "rssi": terminal.rssi,
        "power": terminal.power,
        "fw": terminal.fw,
        "protocol": terminal.protocol or "mqtt",
    }


def _stale(liveness: tuple[int, int], now: datetime) -> datetime:
    """Last seen at or before this, a terminal has missed its heartbeats: offline."""
    interval_s, missed = liveness
    return now - timedelta(seconds=interval_s * missed)


def _problem(liveness: tuple[int, int], now: datetime) -> Any:
    stale = _stale(liveness, now)
    return or_(
        Terminal.connected.is_(False),
        Terminal.last_seen.is_(None),
        Terminal.last_seen <= stale,
        Terminal.battery <= LOW_BATTERY,
    )


def _terminal_query() -> Select[Terminal, Resident | None, Community | None]:
    return (
        select(Terminal, Resident, Community)
        .outerjoin(Resident, Resident.id == Terminal.resident_id)
        .outerjoin(Community, Community.id == Resident.community_id)
    )


def _terminal_item(
    terminal: Terminal,
    resident: Resident | None,
    community: Community | None,
    now: datetime,
    liveness: tuple[int, int],
) -> dict[str, Any]:
    item = terminal_json(terminal, now, liveness)
    item["resident"] = (
        {
            "id": resident.id,
            "name": resident.name,
            "address": resident.address,
            "community": community.name if community else resident.community_id,
        }
        if resident
        else None
    )
    return item


async def terminals(
    *,
    session: AsyncSession,
    now: datetime,
    liveness: tuple[int, int],
    problems_only: bool,
    limit: int,
) -> list[dict[str, Any]]:
    """Offline terminals first, then low batteries, then the rest; with their residents."""
    query = _terminal_query()
    problem = _problem(liveness, now)
    # problems first in SQL, so a city of 10,000 terminals still shows them in the limit
    query = query.where(problem) if problems_only else query.order_by(case((problem, 0), else_=1))
    rows = await session.execute(query.order_by(Terminal.device_id).limit(limit))
    result = [_terminal_item(t, r, c, now, liveness) for t, r, c in rows]
    result.sort(key=lambda t: (t["online"], not t["low_battery"], t["device_id"]))
    return result


async def terminal_items(
    *,
    session: AsyncSession,
    device_ids: Collection[str],
    now: datetime,
    liveness: tuple[int, int],
) -> list[dict[str, Any]]:
    if not device_ids:
        return []
    rows = await session.execute(
        _terminal_query().where(Terminal.device_id.in_(sorted(device_ids)))
    )
    return [_terminal_item(t, r, c, now, liveness) for t, r, c in rows]


# separators of `trouble_digest`: control characters no device id holds
_RECORD, _FIELD = "\x1e", "\x1f"


async def trouble_digest(*, session: AsyncSession, now: datetime, liveness: tuple[int, int]) -> str:
    """The terminals that need attention now with their state (online, battery), as one
    string the database makes: in a power cut a city of 100,000 has 100,000 of them, and
    fetched as rows they held the event loop ~0.3 s at each look (every press waited);
    as one string they cost the process a few milliseconds, and an unchanged set is
    told by one comparison. `parse_trouble` reads it."""
    stale = _stale(liveness, now)
    # rules.liveness.is_online, in SQL: connected, and last seen within the missed periods
    state = case(
        (and_(Terminal.connected.is_(True), Terminal.last_seen > stale), literal("1")),
        else_=literal("0"),
    )
    line = (
        Terminal.device_id
        + literal(_FIELD)
        + state
        + literal(_FIELD)
        + func.coalesce(cast(Terminal.battery, String), literal(""))
    )
    joined: ColumnElement[str] = func.aggregate_strings(line, _RECORD)
    if is_postgresql(session):
        # the same set in the same order, so that an unchanged one compares equal (SQLite
        # 3.40 has no ORDER BY in an aggregate: there a look parses each time)
        joined = joined.aggregate_order_by(Terminal.device_id)
    found = await session.scalar(select(joined).where(_problem(liveness, now)))
    return found or ""


def trouble_records(digest: str) -> frozenset[str]:
    """A `trouble_digest` as its records, one a terminal: two of them differ exactly in
    the terminals that came, left or changed (`changed_terminals`)."""
    return frozenset(digest.split(_RECORD)) if digest else frozenset()


def changed_terminals(before: frozenset[str], after: frozenset[str]) -> set[str]:
    """The terminals whose record is in one set and not the other: by set operations
    in C, ~20 ms for 100,000 where a dict of them compared in Python took ~100 ms."""
    return {record.partition(_FIELD)[0] for record in before ^ after}


def parse_trouble(digest: str) -> dict[str, tuple[bool, int | None]]:
    """(online, battery) of each terminal in a `trouble_digest`: the digest read back,
    as tests/web/test_live_terminals.py holds it against the liveness rule."""
    trouble: dict[str, tuple[bool, int | None]] = {}
    for record in trouble_records(digest):
        device_id, state, battery = record.split(_FIELD)
        trouble[device_id] = (state == "1", int(battery) if battery else None)
    return trouble
