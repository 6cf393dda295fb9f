"""Terminals' rows: the one module that writes them. What a terminal reports of itself
(liveness: last seen, heartbeat, connection, battery, signal, power, firmware), its
power losses that hold an alarm back, and which resident it belongs to (the city file).
Who decides is elsewhere: ingest decodes, the city file checks; this only stores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, func, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.store.models import Terminal

_TABLE = cast("Table", Terminal.__table__)
# what a liveness report may carry; a report without one of them keeps what is stored
LIVENESS_FIELDS: Final = (
    "last_seen",
    "last_heartbeat",
    "connected",
    "status_changed_at",
    "battery",
    "rssi",
    "power",
    "fw",
)
# one statement, executed for many rows at once (executemany): a city's heartbeats are
# ~170 a second, one UPDATE each would be most of the database's work
_LIVENESS = (
    update(_TABLE)
    .where(_TABLE.c.device_id == bindparam("b_device_id"))
    .values(
        {
            name: func.coalesce(bindparam(f"b_{name}", type_=_TABLE.c[name].type), _TABLE.c[name])
            for name in LIVENESS_FIELDS
        }
    )
)


async def write_liveness(session: AsyncSession, reports: dict[str, dict[str, Any]]) -> int:
    """The latest report of each terminal (device id -> fields of `LIVENESS_FIELDS`,
    None for what it did not say)."""
    rows = [
        {"b_device_id": device_id, **{f"b_{k}": fields.get(k) for k in LIVENESS_FIELDS}}
        for device_id, fields in reports.items()
    ]
    if rows:
        await session.execute(_LIVENESS, rows)
    return len(rows)


async def set_power(
    session: AsyncSession, *, lost: Sequence[str], restored: Sequence[str], now: datetime
) -> None:
    if lost:
        # since the first report: a repeated power_lost does not restart the hold
        await session.execute(
            update(Terminal)
            .where(Terminal.device_id.in_(lost))
            .values(power_lost_at=func.coalesce(Terminal.power_lost_at, now))
        )
    if restored:
        await session.execute(
            update(Terminal).where(Terminal.device_id.in_(restored)).values(power_lost_at=None)
        )


async def detach(session: AsyncSession, device_ids: Sequence[str], *, chunk: int) -> None:
    """These terminals belong to no resident any more (they keep their history)."""
    for start in range(0, len(device_ids), chunk):
        part = device_ids[start : start + chunk]
        await session.execute(
            update(Terminal).where(Terminal.device_id.in_(part)).values(resident_id=None)
        )


async def add(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(Terminal), rows)


async def attach(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Each row: the terminal's primary key and its new `resident_id`."""
    if rows:
        await session.execute(update(Terminal), rows)
