"""Loading a city file: checked rows (`city.check`) written in the caller's transaction.

Everything is checked first, with the communities already in the database; a file with
any error writes nothing. Then each table is synced (`city.tables`), so that loading the
same file again changes nothing and a city of ten thousand residents loads in seconds on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.city_file.check import check_city
from dispatcher.city_file.read import read_document
from dispatcher.city_file.rows import CityDataError
from dispatcher.city_file.tables import (
    TableCounts,
    load_communities,
    load_contacts,
    load_providers,
    load_residents,
    load_terminals,
    load_workers,
)
from dispatcher.store.db import is_postgresql
from dispatcher.store.models import Community


@dataclass(slots=True)
class LoadReport:
    """What one load did, per table. For terminals, `removed` counts terminals detached
    from their resident (the device row stays)."""

    communities: TableCounts = field(default_factory=TableCounts)
    workers: TableCounts = field(default_factory=TableCounts)
    providers: TableCounts = field(default_factory=TableCounts)
    residents: TableCounts = field(default_factory=TableCounts)
    contacts: TableCounts = field(default_factory=TableCounts)
    terminals: TableCounts = field(default_factory=TableCounts)
    # (device_id, from resident, to resident) for each terminal that changed hands
    moved_terminals: list[tuple[str, str, str]] = field(default_factory=list)

    def tables(self) -> dict[str, TableCounts]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "moved_terminals"}

    @property
    def changed(self) -> bool:
        return any(counts.changed for counts in self.tables().values())

    def __str__(self) -> str:
        lines = [f"{'':12} {'created':>8} {'updated':>8} {'unchanged':>10} {'removed':>8}"]
        for name, c in self.tables().items():
            lines.append(
                f"{name:12} {c.created:8d} {c.updated:8d} {c.unchanged:10d} {c.removed:8d}"
            )
        lines.extend(
            f"terminal {device} moved from resident {old} to {new}"
            for device, old, new in self.moved_terminals[:20]
        )
        if len(self.moved_terminals) > 20:
            lines.append(f"... and {len(self.moved_terminals) - 20} more terminals moved")
        if not self.changed:
            lines.append("nothing changed")
        return "\n".join(lines)


async def load_city(
    *,
    session: AsyncSession,
    document: object,
    current_year: int | None = None,
) -> LoadReport:
    """Check `document` (a read city file) and write it in the caller's transaction.

    Raises `CityDataError` with every error, before writing anything, when the file is
    wrong. `current_year` bounds birth years (default: this year, UTC)."""
    year = current_year if current_year is not None else datetime.now(UTC).year
    if is_postgresql(session):
        # the batched SELECTs of `city.tables` are prepared statements that a pooled
        # connection keeps: a generic plan made while the tables were empty (the first
        # load) scans them whole for every batch, 100 times slower on the next load;
        # plan each one with its values, for this transaction only
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    communities_db = {
        row["id"]: dict(row)
        for row in (await session.execute(select(Community.__table__))).mappings()
    }
    # seconds of pure CPU for a big city: off the event loop, which may serve alarms
    data, errors = await asyncio.to_thread(
        check_city, document, current_year=year, existing_communities=set(communities_db)
    )
    if errors:
        raise CityDataError(errors)
    report = LoadReport()
    before = await _rows_known(session) if is_postgresql(session) else {}
    await load_communities(session, data, communities_db, report.communities)
    await load_workers(session, data, report.workers)
    await load_providers(session, data, report.providers)
    await load_residents(session, data, report.residents)
    await load_contacts(session, data, report.contacts)
    await load_terminals(session, data, report.terminals, report.moved_terminals)
    for table in stale_after(report, before):
        # the planner's statistics of a table the load changed much: read again now,
        # not at autovacuum's next round (or never, where it is off). Until then the
        # tables look as they did before: a first load's look empty, and the engine's
        # lookups of 100 residents' contacts scan all of them (19 ms against 1.3 ms)
        await session.execute(text(f"ANALYZE {table}"))
    return report


# autovacuum's defaults for analyzing a table: 50 rows changed and a tenth of the table
_ANALYZE_BASE, _ANALYZE_SHARE = 50, 0.1


def stale_after(report: LoadReport, rows_before: dict[str, float]) -> list[str]:
    """The tables (of `rows_before`, PostgreSQL's estimate of their rows before the
    load) whose statistics the load made stale by autovacuum's own rule."""
    return [
        table
        for table, counts in report.tables().items()
        if table in rows_before
        and counts.changed > _ANALYZE_BASE + _ANALYZE_SHARE * max(rows_before[table], 0.0)
    ]


async def _rows_known(session: AsyncSession) -> dict[str, float]:
    """The planner's estimate of each city table's rows (-1: never counted)."""
    names = [f.name for f in fields(LoadReport) if f.name != "moved_terminals"]
    result = await session.execute(
        text(
            "SELECT relname, reltuples FROM pg_class "
            "WHERE relname = ANY(:names) AND relkind = 'r' AND pg_table_is_visible(oid)"
        ),
        {"names": names},
    )
    return {str(name): float(rows) for name, rows in result}


async def load_file(
    path: Path,
    sessions: async_sessionmaker[AsyncSession],
    *,
    current_year: int | None = None,
) -> LoadReport:
    """`dispatcher load FILE.yaml`: read, check and load the file in one transaction.

    Raises `CityDataError` with every error of the file (nothing is written), `OSError`
    when it cannot be read."""
    raw = await asyncio.to_thread(path.read_bytes)
    document = await asyncio.to_thread(read_document, raw)
    async with sessions.begin() as session:
        return await load_city(session=session, document=document, current_year=current_year)
